#!/bin/bash
# The daily run at full scale (the suite's daily stage, a fresh home each), alternating the
# encoder's sleeping threads (9e2e83f, the working tree, "new") and the commit before (3fab9f2 in
# a `git worktree` at /tmp/s48/base with its dbt manifest and cache, first on PYTHONPATH, "old").
cd /work/main
for i in 1 2; do
  for v in new old; do
    if [ $v = old ]; then export PYTHONPATH=/tmp/s48/base; else unset PYTHONPATH; fi
    echo "## $v $i $(date +%T)"
    .venv/bin/python benchmarks/suite.py --scale 1.0 --repeats 1 --stages daily --no-markdown --out /tmp/s48/daily_${v}_$i.json 2>&1 | grep -E "wall time|bronze to marts|ML jobs|peak memory|slowest|outside|talent"
  done
done
echo done
