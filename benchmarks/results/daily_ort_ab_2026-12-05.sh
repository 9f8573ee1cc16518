#!/bin/bash
# The encoder's sleeping threads (9e2e83f, the working tree, "new") against the commit before
# (3fab9f2, "old", a worktree at /tmp/s48/base), the full-scale daily run alternating twice.
# Then 49d146d (12-04's daily-run commit) once the same way (log: the last block).
bash "$(dirname "$0")/../daily_ab.sh" /tmp/s48/base /tmp/s48/daily 2
