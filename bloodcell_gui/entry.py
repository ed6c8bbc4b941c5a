"""The `bloodcell` command.

- no arguments: the window;
- image files or folders (what a file manager's "Open with BloodCell" passes): the window,
  classifying them;
- a subcommand (`classify`, `train`, ...), `--help` or `--version`: headless, Qt never imported,
  so it works on a machine with no display and no Qt libraries loaded.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings

from model.cli.guard import COMMANDS, interrupt_on_sigterm
from model.common.editions import program_name
from model.common.user_folders import prepare_process


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    quiet_library_warnings()
    prepare_process()  # before Qt or matplotlib look at HOME
    argv = sys.argv[1:] if argv is None else argv
    if argv and (argv[0].startswith("-") or argv[0] in COMMANDS):
        return run_cli(argv)
    problem = no_display_problem()
    if problem:
        print(f"bloodcell: {problem}", file=sys.stderr)
        return 2
    from bloodcell_gui.app import run_gui

    return run_gui(argv)


def run_cli(argv: list[str]) -> int:
    from model import __version__

    if argv[0] in ("--version", "-V"):
        print(f"{program_name()} {__version__}")
        return 0
    # Installed before the slow imports (torch, fastai: seconds), so a SIGTERM that arrives
    # while they load ends the command as an interruption, not as a killed process.
    interrupt_on_sigterm()
    try:
        from model.cli.main import main as cli_main
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return cli_main(argv)


def no_display_problem() -> str | None:
    """Why no window can open here, or None. Without a display Qt would abort with a core dump
    blaming a missing xcb library; a technician should read what is wrong and what to do."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "there is no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set). "
        "Run it from a desktop session, or work headless: `bloodcell classify FOLDER --csv out.csv` "
        "(see `bloodcell --help`)."
    )


def quiet_library_warnings() -> None:
    """Deprecation chatter from torch/pandas inside fastai means nothing to a technician."""
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
    warnings.filterwarnings("ignore", message=r".*mode\.chained_assignment.*")


if __name__ == "__main__":
    sys.exit(main())
