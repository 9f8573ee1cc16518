#!/bin/bash
# launched runs at scale 0.05: new (/work/main, this session's tree) vs old (/tmp/s43/base: a git worktree of 83ec1dd), a fresh home each
for v in new old; do
  if [ $v = old ]; then T=/tmp/s43/base; else T=/work/main; fi
  H=/tmp/s43/launch_$v; rm -rf $H $H.*
  echo "## $v $(date +%T)"
  SCALE=0.05 bash /work/main/benchmarks/results/launched_run_2026-12-03.sh $T $H 2020-03-02
  (cd $T; DAGSTER_HOME=$H/dagster PYTHONPATH=$T /work/main/.venv/bin/python /work/main/benchmarks/results/launched_run_2026-12-03.py 2>/dev/null | head -8)
done
