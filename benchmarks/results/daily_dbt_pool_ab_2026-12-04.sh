#!/bin/bash
# The daily run at full scale (the suite's daily stage, a fresh home each), alternating this
# session's tree ("new": lakehouse-dbt, the pool wait) and dd570de ("old", a git worktree at
# /tmp/s44/base with its dbt manifest and cache copied in, run from there on PYTHONPATH).
for i in 1 2; do
  for v in new old; do
    if [ $v = old ]; then cd /tmp/s44/base; export PYTHONPATH=/tmp/s44/base; else cd /work/main; unset PYTHONPATH; fi
    echo "## $v $i $(date +%T)"
    /work/main/.venv/bin/python benchmarks/suite.py --scale 1.0 --repeats 1 --stages daily --no-markdown --out /tmp/s44/daily_${v}_$i.json 2>&1 | grep -E "daily run:|wall time|bronze to marts|outside|peak memory|slowest"
  done
done
echo done
