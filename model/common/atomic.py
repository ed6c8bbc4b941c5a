"""Writes that either complete or leave the previous file untouched.

The data go to a temporary file beside the target, which replaces it in one rename once it is
complete and on disk. The target keeps what it had (its permissions and owner, and a symbolic
link keeps pointing where it did: the file it points to is the one replaced), and the folder is
synced so the rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PART_SUFFIX = ".part"
# Temporary names are built from at most this much of the target's name, so a target whose
# name is near the file system's limit still gets a temporary file beside it.
NAME_PREFIX = 40
# A temporary file this old was left by a process that was killed; it is removed.
STALE_SECONDS = 600


@contextlib.contextmanager
def atomic_writer(path: Path | str, mode: str = "w", *, private: bool = False, **open_args) -> Iterator[IO]:
    """Open a temporary file beside `path`; on success it replaces `path` in one rename.
    `private`: readable and writable by its owner alone (0600), for files holding patient data.

    On any error (a full disk, a crash in the caller, an interrupt) the temporary file is
    removed and an existing `path` is left exactly as it was. Errors name `path`, never the
    temporary file.
    """
    target = _write_target(Path(path))
    prefix = f".{target.name[:NAME_PREFIX]}."
    _remove_stale_parts(target.parent, prefix)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=prefix, suffix=PART_SUFFIX, dir=target.parent)
    except OSError as error:
        raise _naming(error, path) from None
    try:
        _copy_ownership(descriptor, target)
        if private:
            os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, mode, **open_args) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
        _sync_folder(target.parent)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _naming(error, path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def atomic_write_bytes(path: Path | str, data: bytes, *, private: bool = False) -> None:
    with atomic_writer(path, "wb", private=private) as stream:
        stream.write(data)


def _write_target(path: Path) -> Path:
    """The file to replace: where a symbolic link points, else `path` itself."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _copy_ownership(descriptor: int, target: Path) -> None:
    """The new file gets the old one's permissions and owner, or the usual ones for a new file."""
    try:
        old = os.stat(target)
    except OSError:
        os.fchmod(descriptor, 0o666 & ~_umask())
        return
    os.fchmod(descriptor, old.st_mode & 0o7777)
    if hasattr(os, "fchown"):
        with contextlib.suppress(OSError):  # only root may give a file away; others keep their own
            os.fchown(descriptor, old.st_uid, old.st_gid)


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _remove_stale_parts(folder: Path, prefix: str) -> None:
    """Temporary files of this target left by a process that was killed mid-write."""
    with contextlib.suppress(OSError):
        now = time.time()
        for entry in os.scandir(folder):
            if entry.name.startswith(prefix) and entry.name.endswith(PART_SUFFIX):
                with contextlib.suppress(OSError):
                    if now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS:
                        os.unlink(entry.path)


def _naming(error: OSError, path: Path | str) -> OSError:
    """The same error, about the file asked for instead of the temporary one."""
    return type(error)(error.errno, error.strerror or str(error), str(path))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
