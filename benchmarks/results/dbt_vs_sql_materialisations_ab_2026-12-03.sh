#!/bin/bash
# usage: dbt_vs_sql_materialisations_ab_2026-12-03.sh BEFORE_TREE AFTER_TREE HOME PAIRS
# benchmarks/dbt_vs_sql.py of each tree (a `git worktree` of the commit; its own dbt_project),
# alternating before/after PAIRS times on the same built HOME; one JSON per run beside this log.
set -e
BEFORE=$1; AFTER=$2; H=$3; PAIRS=${4:-2}
OUT=${OUT:-/tmp/dbt_ab}
mkdir -p $OUT
for pair in $(seq 1 $PAIRS); do
  for side in before after; do
    if [ $side = before ]; then TREE=$BEFORE; else TREE=$AFTER; fi
    echo "== pair $pair, $side ($(git -C $TREE rev-parse --short HEAD), $(date -u +%H:%M:%S))"
    /work/main/.venv/bin/python $TREE/benchmarks/dbt_vs_sql.py --home $H --repeats 3 \
      --out $OUT/$side-$pair.json | tail -8
  done
done
