#!/bin/bash
# A 3-day backfill and the next day's run at once on a fresh home (tests/integration/test_cli.py's case):
# each command's wall and CPU seconds (user+sys, its process tree) from /usr/bin/time.
tag=$1; out=${OUT:-/tmp}; home=$out/ov-$tag; rm -rf $home
cd ${2:-.}
env -u LAKEHOUSE_HOME LAKEHOUSE_HOME=$home /usr/bin/time -f "$tag backfill wall %e user %U sys %S" .venv/bin/lakehouse run --start 2020-03-01 --end 2020-03-03 --scale 0.02 > $out/ov-$tag-b.log 2>$out/ov-$tag-b.time &
sleep 1
env -u LAKEHOUSE_HOME LAKEHOUSE_HOME=$home /usr/bin/time -f "$tag daily wall %e user %U sys %S" .venv/bin/lakehouse run --start 2020-03-04 --end 2020-03-04 --scale 0.02 > $out/ov-$tag-d.log 2>$out/ov-$tag-d.time &
wait
tail -1 $out/ov-$tag-b.time; tail -1 $out/ov-$tag-d.time
