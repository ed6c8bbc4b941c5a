"""The cells a lab's technicians have verified, kept across sessions for adapting a model.

Every image a technician marks reviewed or reclassifies is a labelled example of that lab's
stain, camera and magnification. The store keeps one entry per picture (by the SHA-256 of its
file; the latest decision wins, an undo removes it), in one JSON file written atomically, ASCII
with escapes so that file names that are not UTF-8 survive. A damaged store is refused with the
reason and never overwritten: the caller starts from an empty one under another name.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from model.common.atomic import atomic_write_bytes
from model.common.background_writer import BackgroundWriter
from model.review.session import ImageRow, ModelIdentity
from model.review.session_file import readable_json

FORMAT = "bloodcell-verified-cells"
# What a background write of the store is called in its outcome.
VERIFIED = "verified cells"
FORMAT_VERSION = 1
# A store is a list a technician reviews by hand; this bounds what a crafted file can ask for.
MAX_ENTRIES = 1_000_000


class VerifiedStoreError(ValueError):
    pass


@dataclass(frozen=True)
class VerifiedCell:
    """An image with the class a technician gave it."""

    path: Path
    label: str


@dataclass(frozen=True)
class VerifiedEntry:
    path: str  # as the file system gave it (non-UTF-8 bytes as surrogates)
    sha256: str
    label: str
    model_name: str
    model_sha256: str
    decided_at: str  # UTC, ISO 8601
    reviewer: str = ""
    # Where the cell was decided: the session's sample ID (another lab's, a test slide's): Adapt
    # lets the technician choose which samples to learn from.
    sample_id: str = ""

    @classmethod
    def from_json(cls, data: object) -> VerifiedEntry:
        fields = cls.__dataclass_fields__
        if not isinstance(data, dict) or not all(isinstance(data.get(k, ""), str) for k in fields):
            raise VerifiedStoreError(f"an entry must be an object of texts ({', '.join(fields)})")
        entry = cls(**{k: data.get(k, "") for k in fields})
        if not entry.path or not entry.label:
            raise VerifiedStoreError("an entry needs a path and a class")
        return entry


def entry_key(path: Path | str, sha256: str) -> str:
    return sha256 or f"path:{path}"


class VerifiedStore:
    """Verified cells in a file; every change is saved at once."""

    def __init__(self, path: Path | str | None) -> None:
        """`path` None: a store for this run only (the user's data folder cannot be used)."""
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, VerifiedEntry] = {}
        if self.path is not None and self.path.exists():
            self.entries = {entry_key(e.path, e.sha256): e for e in read_entries(self.path)}

    def record(self, row: ImageRow, classes: list[str], reviewer: str = "", sample_id: str = "") -> bool:
        """Keep a decided row (reviewed, with a class) or forget an undone one; whether the store changed."""
        key = entry_key(row.path, row.sha256)
        if row.ok and row.reviewed and row.final is not None:
            model = row.model or ModelIdentity("", "")
            entry = VerifiedEntry(
                path=str(row.path),
                sha256=row.sha256,
                label=classes[row.final],
                model_name=model.name,
                model_sha256=model.sha256,
                decided_at=row.decided_at or datetime.now(UTC).isoformat(timespec="seconds"),
                reviewer=row.decided_by or reviewer,
                sample_id=sample_id,
            )
            if self.entries.get(key) == entry:
                return False
            self.entries[key] = entry
        elif self.entries.pop(key, None) is None:
            return False
        return True

    def remove(self, keys: list[str]) -> int:
        return sum(self.entries.pop(key, None) is not None for key in keys)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, encode_store(self.snapshot()), private=True)  # which cells a lab saw

    def save_in_background(self, writer: BackgroundWriter) -> None:
        """Snapshot now (a list of frozen entries), serialise and write on `writer`'s thread (the
        user's alone: 0600)."""
        if self.path is None:
            return
        snapshot = self.snapshot()
        writer.submit(self.path, lambda: encode_store(snapshot), purpose=VERIFIED, private=True)

    def snapshot(self) -> list[VerifiedEntry]:
        """The entries as they are now (frozen: later changes to the store do not reach them)."""
        return list(self.entries.values())

    def counts(self, classes: list[str]) -> dict[str, int]:
        """Cells per class, the model's classes first (all of them, zero where none)."""
        counts = Counter(entry.label for entry in self.entries.values())
        return {name: counts.get(name, 0) for name in classes} | {
            name: n for name, n in sorted(counts.items()) if name not in classes
        }

    def samples(self) -> dict[str, int]:
        """Cells per sample they were decided in ("" for cells kept before samples were recorded)."""
        return dict(sorted(Counter(entry.sample_id for entry in self.entries.values()).items()))

    def cells(self, classes: list[str], samples: set[str] | None = None) -> tuple[list[VerifiedCell], list[str]]:
        """The cells of known classes (of the chosen `samples`, all when None) whose files are
        still there, and why the others are not."""
        cells, missing = [], []
        for entry in self.entries.values():
            if samples is not None and entry.sample_id not in samples:
                continue
            path = Path(entry.path)
            if entry.label not in classes:
                missing.append(f"{entry.path}: class {entry.label!r} is not one of the model's")
            elif not path.is_file():
                missing.append(f"{entry.path}: the file is no longer there")
            else:
                cells.append(VerifiedCell(path, entry.label))
        return cells, missing

    def export_tree(self, folder: Path | str) -> int:
        """Copy the cells into `folder/CLASS/` (a class-per-folder tree for `bloodcell finetune`);
        how many were copied. Names that clash get the start of their SHA-256 added."""
        folder = Path(folder)
        copied = 0
        for entry in self.entries.values():
            source = Path(entry.path)
            if not source.is_file():
                continue
            target_folder = folder / safe_folder_name(entry.label)
            target_folder.mkdir(parents=True, exist_ok=True)
            target = target_folder / source.name
            if target.exists():
                target = target_folder / f"{source.stem}-{(entry.sha256 or str(copied))[:12]}{source.suffix}"
            shutil.copyfile(source, target)
            copied += 1
        return copied


def safe_folder_name(label: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in " -_." else "_" for c in label).strip(" .")
    return cleaned or "class"


def read_entries(path: Path) -> list[VerifiedEntry]:
    """The entries of a store file; VerifiedStoreError naming the file and the fault."""
    try:
        if not path.is_file():
            raise VerifiedStoreError("it is not a regular file")
        with path.open("rb") as stream:
            raw = stream.read(512 * 1024 * 1024 + 1)
        document = json.loads(raw.decode("ascii"))
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise VerifiedStoreError("it is not a BloodCell verified-cells file")
        version = document.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
            raise VerifiedStoreError(f"format version {version!r} is not one this app reads ({FORMAT_VERSION})")
        entries = document.get("entries")
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
            raise VerifiedStoreError(f"'entries' must be a list of at most {MAX_ENTRIES}")
        return [VerifiedEntry.from_json(entry) for entry in entries]
    except VerifiedStoreError as error:
        raise VerifiedStoreError(f"{path}: {error}") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise VerifiedStoreError(f"{path}: cannot be read ({type(error).__name__}: {error})") from None


def encode_store(snapshot: list[VerifiedEntry]) -> bytes:
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "entries": [asdict(entry) for entry in snapshot]}
    return readable_json(document).encode("ascii")
