"""Memory a step freed goes back to the operating system before the next step of a run."""

import sys

from pipelines.memory import release_unused_memory, resident_gib


def test_freed_heap_memory_goes_back_to_the_system() -> None:
    assert sys.platform.startswith("linux")  # the lakehouse's machines; glibc's malloc_trim
    # ~300 MiB in blocks above pymalloc's 512-byte limit (glibc's heap), every 50th kept so the
    # heap cannot simply shrink from its top when the rest are freed.
    blocks = [bytes(2048) for _ in range(150_000)]
    kept = blocks[::50]
    del blocks
    before = resident_gib()
    release_unused_memory()
    after = resident_gib()
    assert before - after > 0.15, (before, after)  # GiB: most of the ~0.29 freed
    assert len(kept) == 3_000
