"""What the fork server of a launched run's step processes loads before it forks them: the
definitions, then their objects moved out of the garbage collector's sight (`gc.freeze`), as
`lakehouse run` does after loading them. Every step process then starts with them frozen: its
full collections scan only what the step makes, and forking copies no page for the collector's
bookkeeping of them."""

import gc

import orchestration.definitions  # noqa: F401  (the import is the point)

gc.collect()
gc.freeze()
