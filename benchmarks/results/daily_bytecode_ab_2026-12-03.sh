#!/usr/bin/env bash
set -u
cd /work/main
for side in ${SIDES:-nopyc pyc}; do
  home=/tmp/abday_${side}_$RANDOM; rm -rf $home; mkdir -p $home
  extra=""
  [ $side = nopyc ] && extra="PYTHONPYCACHEPREFIX=/tmp/nopyc"
  echo "== $side $(date +%T) $home"
  env $extra LAKEHOUSE_HOME=$home /usr/bin/time -f "$side wall %e s maxrss %M KB" .venv/bin/lakehouse run --start 2020-03-02 --end 2020-03-02 --scale 1.0 > /tmp/abday_$side.out 2>&1
  tail -1 /tmp/abday_$side.out
  grep -E "succeeded in" /tmp/abday_$side.out
  # step times from the home's Dagster instance (get_run_step_stats), grouped by benchmarks/suite.py's step_stage
  .venv/bin/python /tmp/stepstats.py $home
  rm -rf $home
done
echo "== done $(date +%T)"
