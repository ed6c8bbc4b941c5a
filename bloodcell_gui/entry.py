"""The `bloodcell` command: no arguments opens the GUI; a subcommand runs headless.

Qt is imported only on the GUI path, so `bloodcell classify` works on a machine with no
display and no Qt libraries loaded.
"""

from __future__ import annotations

import multiprocessing
import sys
import warnings


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    quiet_library_warnings()
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        from model.cli import main as cli_main

        return cli_main(argv)
    from bloodcell_gui.app import run_gui

    return run_gui()


def quiet_library_warnings() -> None:
    """Deprecation chatter from torch/pandas inside fastai means nothing to a technician."""
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
    warnings.filterwarnings("ignore", message=r".*mode\.chained_assignment.*")


if __name__ == "__main__":
    sys.exit(main())
