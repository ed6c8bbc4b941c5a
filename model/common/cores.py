"""How many threads a task may use: one count for every pool, honouring the CPU affinity mask
(a container, `taskset` or a batch scheduler may give this process fewer cores than the PC has)."""

from __future__ import annotations

import os

# Decoding and scanning gain little beyond this many threads (file reads and PIL's decoders).
MOST_IO_THREADS = 4


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_threads(most: int = MOST_IO_THREADS, spare: int = 0) -> int:
    """Threads for a pool: at most `most`, leaving `spare` cores to the rest (the network's own
    forward pass, the GUI), and always at least one."""
    return max(1, min(most, available_cores() - spare))
