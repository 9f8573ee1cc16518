#!/bin/bash
# The full-scale daily run (the suite's daily stage, a fresh home each) of the working tree
# ("new") and of another commit ("old": a `git worktree` of it at BASE with its dbt manifest and
# `.lakehouse/cache`, first on PYTHONPATH), alternating ROUNDS times; JSON results to OUT_new_<i>.json
# and OUT_old_<i>.json, the headline lines to standard output.
#
#     bash benchmarks/daily_ab.sh BASE OUT [ROUNDS]
set -euo pipefail
base=$1 out=$2 rounds=${3:-2}
cd "$(dirname "$0")/.."
for i in $(seq 1 "$rounds"); do
  for v in new old; do
    if [ "$v" = old ]; then export PYTHONPATH=$base; else unset PYTHONPATH; fi
    echo "## $v $i $(date +%T)"
    .venv/bin/python benchmarks/suite.py --scale 1.0 --repeats 1 --stages daily --no-markdown \
      --out "${out}_${v}_$i.json" 2>&1 | grep -E "wall time|bronze to marts|ML jobs|peak memory|slowest|outside|talent" || true
  done
done
echo done
