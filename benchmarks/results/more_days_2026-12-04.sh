#!/bin/bash
# Days 3 and 4 of the same home (two_days_2026-12-04.sh made days 1 and 2).
cd /work/main
H=/tmp/s42/twodays
for d in 2020-03-04 2020-03-05; do
  echo "## $d $(date +%T)"
  env -u LAKEHOUSE_PSEUDONYM_KEY LAKEHOUSE_HOME=$H /usr/bin/time -f "wall %e s, max rss %M KiB" .venv/bin/lakehouse run --start $d --end $d --scale 1.0 2>&1 | grep -E "succeeded in|wall "
done
