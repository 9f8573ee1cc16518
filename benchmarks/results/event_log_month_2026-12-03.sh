# The README's command on March 2020 at 0.02, a fresh home each: before = 3a9aeba (a git worktree, first on PYTHONPATH), after = the storage change; two pairs in turn
#!/bin/bash
# The README's main command (March 2020 at 0.02) before (HEAD 3a9aeba) and after the storage change.
for side in before after; do
  if [ $side = before ]; then TREE=/tmp/s40/wt-before; else TREE=/work/main; fi
  H=/tmp/s40/m_$side; rm -rf $H
  ( cd $TREE && PYTHONPATH=$TREE LAKEHOUSE_HOME=$H /usr/bin/time -f "$side: wall %e s, max rss %M KiB" /work/main/.venv/bin/lakehouse run --start 2020-03-01 --end 2020-03-31 --scale 0.02 > /tmp/s40/m_$side.log 2>&1 )
  tail -1 /tmp/s40/m_$side.log
  grep -E "city_marts - STEP_SUCCESS|ml_marts - STEP_SUCCESS|gold__marts - STEP_SUCCESS" $H/logs/run-*.log | sed -E 's/.* - ([a-z_]+) - STEP_SUCCESS.* in (.*)\./  \1 \2/'
  grep -c ASSET_MATERIALIZATION $H/logs/run-*.log
done
