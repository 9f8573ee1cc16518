# before (3a9aeba: no memory tag limit; Dagster's default SQLite storage): first day by lakehouse run, then 2020-03-02 launched
#!/bin/bash
set -e
TREE=/work/main; H=/tmp/s40/hfull; DAY=${DAY:-2020-03-02}
export PYTHONPATH=$TREE LAKEHOUSE_HOME=$H LAKEHOUSE_SIMULATION_SCALE=1.0 DAGSTER_HOME=$H/dagster
cd $TREE
if [ ! -f $H/dagster/dagster.yaml ]; then
  /usr/bin/time -f "first day: wall %e s, max rss %M KiB" /work/main/.venv/bin/lakehouse run --start 2020-03-01 --end 2020-03-01 --scale 1.0 > $H.first.log 2>&1
  tail -1 $H.first.log
fi
/work/main/.venv/bin/python benchmarks/results/tree_memory_2026-12-03.py /tmp/s40/launched_mem_$DAY.json -- /usr/bin/time -f "wall %e s, max rss %M KiB" /work/main/.venv/bin/dagster job execute -m orchestration.definitions -j city_daily --tags "{\"dagster/partition\": \"$DAY\"}" > $H.$DAY.log 2>&1
tail -2 $H.$DAY.log
/work/main/.venv/bin/python /work/main/benchmarks/results/launched_run_2026-12-03.py

# after (this commit: the executor's tag limit, the lakehouse storage): 2020-03-03 launched on the same home
#!/bin/bash
set -e
H=/tmp/s40/hfull; DAY=2020-03-03
export LAKEHOUSE_HOME=$H LAKEHOUSE_SIMULATION_SCALE=1.0 DAGSTER_HOME=$H/dagster
cd /work/main
.venv/bin/python -c "from orchestration.cli import DAGSTER_YAML; open('$H/dagster/dagster.yaml','w').write(DAGSTER_YAML)"
.venv/bin/python benchmarks/results/tree_memory_2026-12-03.py /tmp/s40/launched_mem_$DAY.json -- /usr/bin/time -f "wall %e s, max rss %M KiB" .venv/bin/dagster job execute -m orchestration.definitions -j city_daily --tags "{\"dagster/partition\": \"$DAY\"}" > $H.$DAY.log 2>&1
tail -2 $H.$DAY.log
.venv/bin/python /work/main/benchmarks/results/launched_run_2026-12-03.py

# then, for each: DAGSTER_HOME=$H/dagster .venv/bin/python benchmarks/results/launched_memory_steps_2026-12-03.py /tmp/s40/launched_mem_$DAY.json
