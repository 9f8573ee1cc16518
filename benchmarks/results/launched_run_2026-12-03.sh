#!/bin/bash
# usage: [SCALE=0.01] launched_run_2026-12-03.sh TREE HOME DAY
# The city_daily job for DAY launched as the daemon launches the schedule's run (`dagster job
# execute`: the job's own executor, each step in a process of its own), on HOME after a first
# day run in process by `lakehouse run`. TREE: a `git worktree` of the commit measured, first on
# PYTHONPATH. Then: DAGSTER_HOME=HOME/dagster .venv/bin/python launched_run_2026-12-03.py
set -e
TREE=$1; H=$2; DAY=$3
SCALE=${SCALE:-0.01}
export PYTHONPATH=$TREE LAKEHOUSE_HOME=$H LAKEHOUSE_SIMULATION_SCALE=$SCALE DAGSTER_HOME=$H/dagster
cd $TREE
if [ ! -f $H/dagster/dagster.yaml ]; then
  /work/main/.venv/bin/lakehouse run --start 2020-03-01 --end 2020-03-01 --scale $SCALE > $H.first.log 2>&1
fi
/usr/bin/time -f "wall %e s, max rss %M KiB" /work/main/.venv/bin/dagster job execute -m orchestration.definitions -j city_daily --tags "{\"dagster/partition\": \"$DAY\"}" > $H.$DAY.log 2>&1
tail -1 $H.$DAY.log
