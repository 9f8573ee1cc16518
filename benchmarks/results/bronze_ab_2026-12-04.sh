#!/bin/bash
# The suite's bronze stage (full-scale day, medians of 3 in a fresh process per source) for this
# checkout and for BASE, a worktree of the commit before (git worktree add $BASE 50a89e6),
# alternating, twice. Run from the checkout's root.
base=${BASE:?a worktree of the base commit}
for round in 1 2; do
  for side in new base; do
    dir=$PWD; [ $side = base ] && dir=$base
    echo "== round $round: $side ($(cd $dir && git log --oneline -1 | cut -c1-7))"
    (cd $dir && PYTHONPATH=$dir $OLDPWD/.venv/bin/python benchmarks/suite.py --stages bronze --scale 1.0 --repeats 3 --no-markdown --out ${OUT:-/tmp}/bronze_${side}_$round.json 2>&1 | grep -E "bronze (bus_gps|onay_taps|fiscal|telecom_presence)")
  done
done
