"""Heavy imports without long pauses of Python's cyclic garbage collector.

Now and then the collector walks every object it tracks, holding the GIL while it does, so
whichever thread triggers it, every other thread waits: in the app, the window freezes. Importing
torch, fastai and their dependencies makes some 500,000 objects, and while a worker imported
fastai for Model › Adapt to this lab the collector's passes grew to 120-230 ms: the window froze
that long, four times (bench/finetune.py).

Modules and what they define live as long as the process, so they need no collecting: heavy
imports run with the collector off, and what is alive afterwards is moved out of its sight
(`gc.freeze`). Later passes walk only what the program makes since. Only objects that are freed
by reference counting should be alive at that moment: a frozen object caught in a reference cycle
is never freed (a loaded Classifier has none).
"""

from __future__ import annotations

import gc
import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.RLock()
_depth = 0


@contextmanager
def imports_without_pauses() -> Iterator[None]:
    """Run the block with the collector off, then freeze what is alive; nests, and is thread-safe."""
    global _depth
    with _lock:
        enabled_before = gc.isenabled() if _depth == 0 else False
        _depth += 1
        gc.disable()
        try:
            yield
        finally:
            _depth -= 1
            if _depth == 0:
                gc.freeze()
                if enabled_before:
                    gc.enable()


def import_quietly(name: str) -> None:
    """Import module `name` (once) without collector pauses."""
    if name in sys.modules:
        return
    with imports_without_pauses():
        importlib.import_module(name)
