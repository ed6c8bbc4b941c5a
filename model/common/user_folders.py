"""The folders BloodCell keeps things in for the PC user, resolved once per process and checked.

- settings:  $XDG_CONFIG_HOME/BloodCell/BloodCell.conf   (Qt's QSettings; default ~/.config)
- data:      $XDG_DATA_HOME/BloodCell/BloodCell/         the autosaved session, the verified cells
- cache:     $XDG_CACHE_HOME/BloodCell/                  matplotlib's font list (fastai's plotting)

Nothing else is written outside the folders a user names (README, "Files and folders"). The
program itself is installed elsewhere (PREFIX/lib/bloodcell/), so no file system, not even a
case-insensitive one, can make an install or uninstall delete these.

An unusable folder (a file where the folder should be, a read-only home, no home at all) is not an
exception in every save: it is found here once and said once, naming what will not be kept.
"""

from __future__ import annotations

import functools
import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP = "BloodCell"  # Qt's organisation and application name: QSettings and QStandardPaths agree
KEPT_IN_DATA = "the automatic save of the open session (crash recovery) and the list of verified cells"
KEPT_IN_CONFIG = "the settings (review threshold, recent models, window layout, reviewer's name)"
KEPT_IN_CACHE = "the font list of the training charts (rebuilt each time, a few seconds)"


def home_folder(environ: Mapping[str, str]) -> Path | None:
    """$HOME when it is an absolute path, else the account's home from the password database."""
    home = environ.get("HOME", "")
    if os.path.isabs(home) and home != "/":
        return Path(home)
    try:
        account_home = pwd.getpwuid(os.getuid()).pw_dir
    except (KeyError, OSError):
        return None
    return Path(account_home) if os.path.isabs(account_home) and account_home != "/" else None


def base_folder(environ: Mapping[str, str], variable: str, default: str, home: Path | None) -> Path | None:
    """An XDG base folder: the variable when absolute (the specification ignores relative ones)."""
    value = environ.get(variable, "")
    if os.path.isabs(value):
        return Path(value)
    return home / default if home is not None else None


def problem_with(folder: Path) -> str | None:
    """Why `folder` cannot hold files, or None. Nothing is created here (a command that writes
    nothing there leaves no trace): the folder, or the nearest part of its path that exists, must be
    a folder this user can write in."""
    existing = folder
    while not os.path.lexists(existing) and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder" if existing.exists() else f"{existing} cannot be read"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


@dataclass(frozen=True)
class UserFolders:
    home: Path | None
    config: Path | None  # None: nothing of KEPT_IN_CONFIG is kept in this run; likewise below
    data: Path | None
    cache: Path | None
    problems: tuple[str, ...] = ()

    def warning(self) -> str | None:
        """One message for the user, or None when every folder can be used."""
        return "\n".join(self.problems) or None


def checked(folder: Path | None, name: str, kept: str, problems: list[str]) -> Path | None:
    """`folder` if it can hold files; else None, with the reason and what is lost added to `problems`."""
    problem = problem_with(folder) if folder is not None else f"there is no {name} folder"
    if problem is None:
        return folder
    problems.append(f"BloodCell cannot keep files in its {name} folder: {problem}. Not kept: {kept}.")
    return None


def resolve(environ: Mapping[str, str]) -> UserFolders:
    home = home_folder(environ)
    problems: list[str] = []
    if home is None:
        problems.append("This account has no home folder (HOME is not set and the system names none).")
    config = base_folder(environ, "XDG_CONFIG_HOME", ".config", home)
    data = base_folder(environ, "XDG_DATA_HOME", ".local/share", home)
    cache = base_folder(environ, "XDG_CACHE_HOME", ".cache", home)
    config = checked(config / APP if config else None, "settings", KEPT_IN_CONFIG, problems)
    data = checked(data / APP / APP if data else None, "data", KEPT_IN_DATA, problems)
    cache = checked(cache / APP if cache else None, "cache", KEPT_IN_CACHE, problems)
    return UserFolders(home, config, data, cache, tuple(problems))


@functools.cache
def user_folders() -> UserFolders:
    """This process's folders, resolved at its first call (`prepare_process` makes that early)."""
    return resolve(os.environ)


def prepare_process() -> UserFolders:
    """Resolve the folders and point the libraries that would write to the home folder on their
    own at ours: Qt reads HOME (without it, it writes to '//.config'), matplotlib MPLCONFIGDIR."""
    folders = user_folders()
    if folders.home is not None and not os.path.isabs(os.environ.get("HOME", "")):
        os.environ["HOME"] = str(folders.home)
    if "MPLCONFIGDIR" not in os.environ and folders.cache is not None:
        os.environ["MPLCONFIGDIR"] = str(folders.cache / "matplotlib")
    return folders
