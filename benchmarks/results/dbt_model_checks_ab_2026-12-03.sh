#!/bin/bash
# dbt build vs compiled SQL on the same built year: a test per rule (A, 51aadcf) and one test per model (B), alternating.
set -e
for round in 3 4; do
  echo "== round $round A (51aadcf: a test per rule)"
  (cd /tmp/s41/base && PYTHONPATH=/tmp/s41/base /work/main/.venv/bin/python benchmarks/dbt_vs_sql.py --home /tmp/hyear --repeats 3 --out /tmp/s41/a$round.json) 2>&1 | grep -v "^\[dbt_vs_sql.*\] \(copy\|run\)" 
  echo "== round $round B (one test per model)"
  (cd /work/main && /work/main/.venv/bin/python benchmarks/dbt_vs_sql.py --home /tmp/hyear --repeats 3 --out /tmp/s41/b$round.json) 2>&1 | grep -v "^\[dbt_vs_sql.*\] \(copy\|run\)"
done

# then, the profile's threads:
#!/bin/bash
# one test per model: the profile's 2 dbt threads vs 4, alternating, on the same built year
set -e
cd /work/main
for round in 1 2; do
  for t in 2 4; do
    echo "== round $round threads $t"
    .venv/bin/python benchmarks/dbt_vs_sql.py --home /tmp/hyear --repeats 3 --threads $t --out /tmp/s41/t${t}_$round.json 2>&1 | grep -E "full-refresh #|compiled SQL #|wall, median"
  done
done

# then, the final rotation:
#!/bin/bash
# dbt build vs its compiled SQL on the same built year (a fresh home, `lakehouse run --start
# 2020-03-01 --end 2020-12-31 --scale 0.02` at 51aadcf), each pair a build then its SQL:
#   A  = 51aadcf (a test per rule, 211 tests; the profile's 2 threads), a git worktree
#   B2 = one test per model (78 tests), 2 threads
#   B4 = one test per model, the profile's 4 threads (this commit)
set -e
for round in 1 2; do
  echo "== round $round A"
  (cd /tmp/s41/base && PYTHONPATH=/tmp/s41/base /work/main/.venv/bin/python benchmarks/dbt_vs_sql.py --home /tmp/hyear --repeats 3 --out /tmp/s41/fa$round.json) 2>&1 | grep -E "#[0-9]:|wall, median|pair|nodes:"
  echo "== round $round B2"
  (cd /work/main && .venv/bin/python benchmarks/dbt_vs_sql.py --home /tmp/hyear --repeats 3 --threads 2 --out /tmp/s41/fb2_$round.json) 2>&1 | grep -E "#[0-9]:|wall, median|pair|nodes:"
  echo "== round $round B4"
  (cd /work/main && .venv/bin/python benchmarks/dbt_vs_sql.py --home /tmp/hyear --repeats 3 --out /tmp/s41/fb4_$round.json) 2>&1 | grep -E "#[0-9]:|wall, median|pair|nodes:"
done
