"""`lakehouse-dbt`: dbt's own command line (`dbt build`, `dbt parse`, ...), in a process whose
garbage collector leaves dbt's modules alone.

Importing dbt builds thousands of classes (mashumaro writes a serialiser for each artifact
class) and the collector scans all of them again at every full collection: the import takes
~1.1 s with the collector held off against 1.2-1.7 s with it, and every full collection of the
build after it walks those objects once more. Here the collector waits until the imports are
done, then they are moved out of its sight (`gc.freeze`), as `lakehouse run` does after loading
its definitions. The command is dbt's: the same arguments, output and exit status as `dbt`.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
from pathlib import Path

COMMAND = "lakehouse-dbt"


def installed_dbt() -> Path:
    """The dbt installed beside this interpreter, even when its environment is not on PATH:
    this command, or dbt's own script in an environment installed before this command was."""
    here = Path(sys.executable).parent
    return next((p for p in (here / COMMAND, here / "dbt") if p.exists()), here / "dbt")


def dbt_executable() -> str:
    """What the pipeline runs for dbt: `installed_dbt()`, or a `dbt` on PATH without one."""
    installed = installed_dbt()
    return os.fspath(installed) if installed.exists() else (shutil.which("dbt") or "dbt")


def main() -> None:
    gc.disable()
    from dbt.cli.main import cli  # the import the collector is held off for

    gc.collect()
    gc.freeze()
    gc.enable()
    sys.exit(cli())


if __name__ == "__main__":
    main()
