#!/bin/bash
# dbt's own script against lakehouse-dbt, alternating, each beside its compiled SQL (benchmarks/dbt_vs_sql.py)
cd ${ROOT:-.}
for round in 1 2; do
  for exe in dbt lakehouse-dbt; do
    echo "== round $round: $exe"
    .venv/bin/python benchmarks/dbt_vs_sql.py --home ${HOME_YEAR:-/tmp/hyear} --repeats 3 --dbt .venv/bin/$exe --out ${OUT:-/tmp}/dbt_vs_sql_${exe}_$round.json 2>&1 | grep -E "^\[dbt_vs_sql|^\| wall|^\| each"
  done
done
