# dbtrun.sh WAREHOUSE TARGET [dbt args]: dbt build --full-refresh on a warehouse copy
#!/bin/bash
# usage: dbtrun.sh WAREHOUSE TARGET [extra dbt args]
W=$1; T=$2; shift 2
cd /work/main/dbt_project
mkdir -p $T; [ -f $T/partial_parse.msgpack ] || cp target/partial_parse.msgpack $T/
exec env -u LAKEHOUSE_LAKE_URI LAKEHOUSE_HOME=/tmp/s39/hyear LAKEHOUSE_LAKE_URI=$(cd /work/main && LAKEHOUSE_HOME=/tmp/s39/hyear .venv/bin/python -c "from pipelines.settings import LakehouseSettings as S; print(S(_env_file=None).lake_uri)") LAKEHOUSE_WAREHOUSE_PATH=$W \
  /work/main/.venv/bin/dbt build --full-refresh --target-path $T --project-dir . --profiles-dir . "$@"

# ab_log.sh
for i in 1 2 3; do
 for mode in default nofile; do
  cp /tmp/s39/hyear/warehouse.duckdb /tmp/s40/prof/warehouse.duckdb
  extra=""; [ $mode = nofile ] && extra="--log-level-file none"
  s=$(date +%s.%N); ./dbtrun.sh /tmp/s40/prof/warehouse.duckdb /tmp/s40/tab_$mode $extra > ab_$mode.log 2>&1; e=$(date +%s.%N)
  echo "$i $mode $(echo "$e - $s" | bc) $(grep -o 'in 0 hours.*' ab_$mode.log)"
 done
done
