"""Where bronze's CPU goes for one source's landed day: `ingest_day`'s wall and CPU time (cores
used), then the time of each statement of `split_file` on the file's first million rows.

    # a home with the day landed at full scale (benchmarks/suite.py's land_child does it), then
    LAKEHOUSE_PSEUDONYM_KEY=<any> .venv/bin/python benchmarks/results/bronze_cpu_2026-12-04.py \\
        <home> bus_gps [repeats]
"""

import ast
import inspect
import resource
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import polars as pl  # noqa: E402

from pipelines import ingest  # noqa: E402
from pipelines.lake import Lake  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402
from pipelines.silver_run import all_sources  # noqa: E402

DAY = date(2020, 3, 2)
home, name = Path(sys.argv[1]), sys.argv[2]
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
lake = Lake(LakehouseSettings(_env_file=None, home=home))  # type: ignore[call-arg]
contract = next(s for s in all_sources() if s.name == name).contract


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


for _ in range(repeats):
    wall, used = time.perf_counter(), cpu()
    ingest.ingest_day(lake, contract, DAY)
    wall, used = time.perf_counter() - wall, cpu() - used
    print(f"ingest_day: wall {wall:.2f} s, CPU {used:.2f} s, {used / wall:.2f} cores")

# split_file with a timer after each statement of its body
source = textwrap.dedent(inspect.getsource(ingest.split_file))
tree = ast.parse(source)
function = tree.body[0]
assert isinstance(function, ast.FunctionDef)
body: list[ast.stmt] = [ast.parse("_tick(0)").body[0]]
for statement in function.body:
    body.append(statement)
    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
        body.append(ast.parse(f"_tick({statement.lineno})").body[0])
function.body = body
ast.fix_missing_locations(tree)
spent: dict[int, float] = {}
last = [0.0]


def _tick(line: int) -> None:
    now = time.perf_counter()
    if line:
        spent[line] = spent.get(line, 0.0) + now - last[0]
    last[0] = now


scope = dict(vars(ingest), _tick=_tick)
exec(compile(tree, "split_file", "exec"), scope)
(landing,) = ingest.landing_files(lake, contract, DAY)
frame = pl.read_csv(lake.get_file(landing), infer_schema=False, n_rows=ingest.CHUNK_ROWS)
for _ in range(repeats):
    scope["split_file"](frame, landing, contract, DAY, None, b"a key for timing only")
lines = source.splitlines()
print(f"split_file on {frame.height:,} rows, mean of {repeats}:")
for line, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[:10]:
    print(f"  {seconds / repeats * 1000:7.1f} ms  {lines[line - 1].strip()[:70]}")
print(f"  {sum(spent.values()) / repeats * 1000:7.1f} ms  in all")
