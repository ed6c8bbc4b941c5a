"""Heavy imports without long pauses of Python's cyclic garbage collector.

Now and then the collector walks every object it tracks, holding the GIL while it does, so
whichever thread triggers it, every other thread waits: in the app, the window freezes. Importing
torch, fastai and their dependencies makes some 500,000 objects. While a worker imported fastai
for Model › Adapt to this lab, five full passes took from 38 ms to over 150 ms each, and the
window stalled for up to 231 ms (bench/finetune.py; 17-19 ms with the imports below).

Modules and what they define live as long as the process, so they need no collecting: heavy
imports run with the collector off, and what is alive afterwards is moved out of its sight
(`gc.freeze`). Later passes walk only what the program makes since.

The price: a frozen object that later ends up in a reference cycle is never freed (a loaded
Classifier is in none; a closed dialog may be). So a block freezes only when it imported
modules, which happens a few times in a process's life (torch or ONNX Runtime at the first
model, fastai at the first training or adaptation), not on every model switch.
"""

from __future__ import annotations

import gc
import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

_lock = threading.RLock()
_depth = 0


@contextmanager
def imports_without_pauses() -> Iterator[None]:
    """Run the block with the collector off, then freeze what is alive if the block imported
    modules; nests (the outermost block decides), and is thread-safe."""
    global _depth
    with _lock:
        outermost = _depth == 0
        enabled_before = gc.isenabled() if outermost else False
        modules_before = len(sys.modules)
        _depth += 1
        gc.disable()
        try:
            yield
        finally:
            _depth -= 1
            if outermost:
                if len(sys.modules) > modules_before:
                    gc.freeze()
                if enabled_before:
                    gc.enable()


def import_quietly(name: str) -> ModuleType:
    """Module `name`, imported (once) without collector pauses."""
    if name not in sys.modules:
        with imports_without_pauses():
            importlib.import_module(name)
    return sys.modules[name]


def freeze_survivors() -> None:
    """Move what is alive now out of the collector's sight: a session's rows, its audit trail and
    their objects live until the session closes, and the collector's full passes over 2,000 of
    them stalled the window for 20-40 ms at a key press (bench/gui_responsiveness.py --review).
    Rows and entries hold no reference cycles, so reference counting still frees them when the
    session closes; what a cycle among frozen objects keeps is never freed (see above)."""
    with _lock:
        gc.freeze()
