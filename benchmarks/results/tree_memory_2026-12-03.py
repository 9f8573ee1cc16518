"""Run a command and sample its whole process tree's memory every 0.25 s: the sum of the
processes' resident sets and of their proportional sets (PSS: a page that forked processes
share counted once). Writes the samples and the peaks to OUT.json.

    .venv/bin/python benchmarks/results/tree_memory_2026-12-03.py OUT.json -- COMMAND ...
"""

import json
import os
import subprocess
import sys
import time


def tree(root: int) -> set[int]:
    """`root` and its descendants, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) bytes of one process; zeros if it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def main() -> None:
    out, command = sys.argv[1], sys.argv[3:]
    process = subprocess.Popen(command)
    samples = []  # (time, RSS summed, PSS summed, processes, largest RSS)
    while process.poll() is None:
        at = time.time()
        each = [memory(pid) for pid in tree(process.pid)]
        samples.append(
            (
                at,
                sum(r for r, _ in each),
                sum(p for _, p in each),
                len(each),
                max((r for r, _ in each), default=0),
            )
        )
        time.sleep(0.25)
    rc = process.wait()
    peak_pss = max(samples, key=lambda s: s[2])
    peak_rss = max(samples, key=lambda s: s[1])
    largest = max(s[4] for s in samples) / 2**30
    with open(out, "w") as result:
        json.dump(
            {
                "rc": rc,
                "peak_pss_gib": peak_pss[2] / 2**30,
                "at_pss": peak_pss[0],
                "peak_rss_sum_gib": peak_rss[1] / 2**30,
                "at_rss": peak_rss[0],
                "largest_process_rss_gib": largest,
                "samples": samples,
            },
            result,
        )
    print(
        f"rc {rc}; peak PSS of the tree {peak_pss[2] / 2**30:.2f} GiB ({peak_pss[3]} processes); "
        f"peak RSS summed {peak_rss[1] / 2**30:.2f} GiB; largest single process {largest:.2f} GiB"
    )
    sys.exit(rc)


if __name__ == "__main__":
    main()
