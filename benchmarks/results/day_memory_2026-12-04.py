"""One more full-scale day on an existing home by `lakehouse run`, the whole process tree's
resident set sampled every 50 ms (the suite's `PeakMemory`), and the peak while each step ran.

    .venv/bin/python benchmarks/results/day_memory_2026-12-04.py <home> <day>
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.suite import PeakMemory  # noqa: E402

home, day = Path(sys.argv[1]), sys.argv[2]
env = {**os.environ, "LAKEHOUSE_HOME": str(home)}
env.pop("LAKEHOUSE_PSEUDONYM_KEY", None)
command = [str(ROOT / ".venv/bin/lakehouse"), "run", "--start", day, "--end", day, "--scale", "1.0"]
began = time.perf_counter()
process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
with PeakMemory(root=process.pid) as memory:
    code = process.wait()
print(
    f"{day}: exit {code}, wall {time.perf_counter() - began:.1f} s, tree peak {memory.peak_gib} GiB"
)

import dagster as dg  # noqa: E402

os.environ["DAGSTER_HOME"] = str(home / "dagster")
with dg.DagsterInstance.get() as instance:
    run = instance.get_runs(limit=1)[0]
    steps = instance.get_run_step_stats(run.run_id)
peaks = sorted(
    ((memory.peak_between(s.start_time or 0, s.end_time or 0), s.step_key) for s in steps),
    reverse=True,
)
for peak, key in peaks[:8]:
    print(f"  {key}: {peak} GiB")
