#!/bin/bash
# A fresh home's first full-scale day, then its second, by the README's run command.
cd /work/main
H=/tmp/s42/twodays; rm -rf $H
for d in 2020-03-02 2020-03-03; do
  echo "## $d $(date +%T)"
  env -u LAKEHOUSE_PSEUDONYM_KEY LAKEHOUSE_HOME=$H /usr/bin/time -f "wall %e s, max rss %M KiB" .venv/bin/lakehouse run --start $d --end $d --scale 1.0 2>&1 | grep -E "succeeded in|wall "
  DAGSTER_HOME=$H/dagster .venv/bin/python - <<'PY'
import dagster as dg
with dg.DagsterInstance.get() as i:
    run = i.get_runs(limit=1)[0]
    st = {s.step_key: s.end_time - s.start_time for s in i.get_run_step_stats(run.run_id)}
    print("steps", round(sum(st.values()), 1), "talent_matching", round(st["talent_matching"], 2))
PY
  sqlite3 $H/mlflow.db "select m.key, m.value from metrics m join runs r on r.run_uuid=m.run_uuid where r.name='talent_matching' and m.key like 'seconds.%' order by r.start_time desc limit 6" 2>/dev/null
done
