"""Review sessions on disk: one JSON document per sample, written atomically.

JSON rather than SQLite: a session is small (a differential is 100-200 cells; 10,000 images
make about 4 MB), it is read and written whole, and a lab can read it in any text editor or
archive system in twenty years without this app. The format is versioned; this version reads
every earlier one, and refuses, with the reason, a file that is damaged or newer than it.

    {"format": "bloodcell-session", "format_version": 2, "app_version", "saved_utc",
     "classes": [...], "review_threshold", "sample": {sample_id, patient_ref, target_count,
     comments}, "reviewer", "signature": null | {reviewer, time_utc, time_local},
     "parent": null | {...}, "models": [{name, sha256}],
     "images": [{path, sha256, probabilities, error, unfamiliarity, leukocyte_found,
                 networks_agree, unfamiliar_threshold, model, truth, verified, reviewed,
                 decided_by, decided_at}],
     "audit": [{event, reviewer, time_utc, time_local, details}]}
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from model import __version__
from model.common.atomic import atomic_write_bytes
from model.images.magnification import Magnification
from model.review.audit import AuditEntry, Stamp
from model.review.integrity import alterations, content_sha256, seal
from model.review.session import ImageRow, ModelIdentity, ReviewSession, Sample, Signature

FORMAT = "bloodcell-session"
# 2: tamper evidence (model.review.integrity): content hash, audit hash chain, signed hash.
FORMAT_VERSION = 2
SUFFIX = ".bcsession"
MAX_FILE_BYTES = 512 * 2**20
MAX_IMAGES = 1_000_000


class SessionFileError(ValueError):
    """A file that is not a readable session, with the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def session_json(session: ReviewSession) -> dict:
    """The session as a document (what `save_session` seals and writes)."""
    document = _document(session)
    signature = session.signature
    if signature is not None:
        # The hash of what was signed is fixed the first time a signed session is written and
        # kept after that: a later change to the content no longer matches it.
        if not signature.content_sha256:
            signature = session.signature = Signature(
                signature.reviewer, signature.stamp, content_sha256(document, without_signature=True)
            )
        document["signature"]["content_sha256"] = signature.content_sha256
    return document


def _document(session: ReviewSession) -> dict:
    models = session.models()
    index = {model: i for i, model in enumerate(models)}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "saved_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "classes": session.classes,
        "review_threshold": session.threshold,
        "sample": vars(session.sample).copy(),
        "reviewer": session.reviewer,
        "signature": None
        if session.signature is None
        else {
            "reviewer": session.signature.reviewer,
            "time_utc": session.signature.stamp.utc,
            "time_local": session.signature.stamp.local,
        },
        "parent": session.parent,
        "magnification": None if session.magnification is None else session.magnification.to_json(),
        "models": [{"name": m.name, "sha256": m.sha256} for m in models],
        "images": [
            {
                "path": os.fsdecode(row.path) if row.path != Path("") else "",
                "sha256": row.sha256,
                "probabilities": list(row.probabilities) if row.probabilities is not None else None,
                "error": row.error,
                "unfamiliarity": row.unfamiliarity,
                "leukocyte_found": row.leukocyte_found,
                "networks_agree": row.networks_agree,
                "unfamiliar_threshold": row.unfamiliar_threshold,
                "model": None if row.model is None else index.get(row.model),
                "truth": row.truth,
                "verified": row.verified,
                "reviewed": row.reviewed,
                "decided_by": row.decided_by,
                "decided_at": row.decided_at,
            }
            for row in session.rows
        ],
        "audit": [entry.to_json() for entry in session.audit],
    }


def session_snapshot(session: ReviewSession) -> ReviewSession:
    """A copy of the session that later changes to it do not reach, taken in a few milliseconds
    (rows and audit entries are shallow-copied: their fields are values), so that a writer can
    make the document (`session_json`) off the GUI thread. A signed session whose signature has
    not yet fixed its content hash is fixed here first (it belongs to the session itself)."""
    if session.signature is not None and not session.signature.content_sha256:
        session_json(session)
    snapshot = copy.copy(session)
    snapshot.rows = [copy.copy(row) for row in session.rows]
    snapshot.audit = list(session.audit)
    snapshot.sample = copy.copy(session.sample)
    snapshot.parent = dict(session.parent) if session.parent is not None else None
    return snapshot


def save_session(path: Path | str, session: ReviewSession) -> Path:
    """Write the session atomically: the previous file stays whole until the new one is."""
    atomic_write_bytes(Path(path), encode_session(session_json(session)), private=True)  # patient data
    return Path(path)


def encode_session(snapshot: dict) -> bytes:
    """A session document (`session_json`, a snapshot of plain values) sealed and serialised:
    the costly half of a save, which a background writer runs off the GUI thread."""
    # ASCII with \u escapes: valid UTF-8 for any reader, and a file name that is not valid
    # UTF-8 (kept by Python as lone surrogates) comes back exactly.
    return readable_json(seal(snapshot)).encode("ascii")


def readable_json(document: dict) -> str:
    """The document as JSON text, one line per field and per item of a list (an image, an audit
    entry), made item by item: no single call holds Python's lock for a whole long session."""

    def dumped(value: object) -> str:
        return json.dumps(value, ensure_ascii=True, allow_nan=False)

    lines = ["{"]
    for number, (key, value) in enumerate(document.items()):
        comma = "," if number < len(document) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f" {dumped(key)}: [")
            lines += [f"  {dumped(item)}{',' if index < len(value) - 1 else ''}" for index, item in enumerate(value)]
            lines.append(f" ]{comma}")
        else:
            lines.append(f" {dumped(key)}: {dumped(value)}{comma}")
    lines.append("}")
    return "\n".join(lines)


def load_session(path: Path | str) -> ReviewSession:
    """Read and check a session file; SessionFileError names what is wrong, an alteration made
    after BloodCell saved it included."""
    path = Path(path)
    data = _read_document(path)
    session = _session(path, data)
    problems = _alterations(data, session)
    if problems:
        raise SessionFileError(path, f"it was altered after BloodCell saved it: {'; '.join(problems)}")
    return session


@dataclass(frozen=True)
class Verification:
    """What `bloodcell session verify` found: alterations (the file is not as saved), and
    notes on what could not be checked."""

    problems: list[str]
    notes: list[str]


def verify_session_file(path: Path | str) -> Verification:
    """Everything that can be checked about a session file: its integrity record and audit
    chain, its signature, and the SHA-256 of each image still at its path."""
    from model.common.hashing import file_sha256

    path = Path(path)
    data = _read_document(path)
    session = _session(path, data)
    problems, notes = _alterations(data, session), []
    if data.get("format_version", 1) < 2:
        problems.append("it was saved before BloodCell recorded its integrity (format 1): it cannot be verified")
    missing = 0
    for number, row in enumerate(session.rows, start=1):
        if not row.sha256 or not row.path.is_file():
            missing += bool(row.sha256)
            continue
        try:
            if file_sha256(row.path) != row.sha256:
                problems.append(f"image {number} ({row.path}) is not the picture that was classified (SHA-256 differs)")
        except OSError as error:
            notes.append(f"image {number} ({row.path}) could not be read ({error.strerror or error})")
    if missing:
        notes.append(f"{missing} images are not at their recorded paths here: their pictures were not checked")
    return Verification(problems, notes)


def _alterations(data: dict, session: ReviewSession) -> list[str]:
    problems = [str(found) for found in alterations(data)] if data.get("format_version", 1) >= 2 else []
    unsigned_work = session.unsigned_work()
    if unsigned_work:
        problems.append(f"{unsigned_work}: BloodCell could not have signed it")
    return problems


def _session(path: Path, data) -> ReviewSession:
    try:
        return session_from_json(data)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise SessionFileError(path, f"the session is damaged or not a BloodCell session: {error}") from None


def _read_document(path: Path):
    from model.images.reading import describe_os_error, open_regular_file

    try:
        with open_regular_file(path) as stream:
            if os.fstat(stream.fileno()).st_size > MAX_FILE_BYTES:
                raise SessionFileError(path, "the file is larger than any session (512 MB)")
            raw = stream.read()
    except OSError as error:
        raise SessionFileError(path, describe_os_error(error).replace("an image file", "a session file")) from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise SessionFileError(path, "not a BloodCell session (not readable JSON; the file may be damaged)") from None


def _text(data: dict, key: str, default: str = "", limit: int = 10_000) -> str:
    value = data.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"'{key}' must be text of at most {limit} characters")
    return value


def _optional_index(value, size: int, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ValueError(f"{what} {value!r} is not one of the {size} known")
    return value


def _optional_number(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number")
    return float(value)


def session_from_json(data) -> ReviewSession:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("it does not say it is a BloodCell session")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"'format_version' must be a whole number from 1, not {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"format version {version} is newer than this app reads ({FORMAT_VERSION}); update BloodCell")
    classes = data.get("classes")
    if not isinstance(classes, list) or not 2 <= len(classes) <= 64 or not all(isinstance(c, str) for c in classes):
        raise ValueError("'classes' must be a list of 2 to 64 names")
    threshold = _optional_number(data.get("review_threshold", 0.95), "'review_threshold'")
    if threshold is None or not 0 <= threshold <= 1:
        raise ValueError("'review_threshold' must be from 0 to 1")
    sample_data = data.get("sample") or {}
    if not isinstance(sample_data, dict):
        raise ValueError("'sample' must be an object")
    target = sample_data.get("target_count", 100)
    if isinstance(target, bool) or not isinstance(target, int) or not 1 <= target <= 100_000:
        raise ValueError("'sample.target_count' must be a whole number from 1 to 100000")
    sample = Sample(
        _text(sample_data, "sample_id", limit=200),
        _text(sample_data, "patient_ref", limit=200),
        target,
        _text(sample_data, "comments"),
    )
    models_data = data.get("models") or []
    if not isinstance(models_data, list):
        raise ValueError("'models' must be a list")
    if not all(isinstance(m, dict) for m in models_data):
        raise ValueError("each of 'models' must be an object")
    models = [ModelIdentity(_text(m, "name", limit=500), _text(m, "sha256", limit=64)) for m in models_data]
    images = data.get("images")
    if not isinstance(images, list) or len(images) > MAX_IMAGES:
        raise ValueError(f"'images' must be a list of at most {MAX_IMAGES}")
    session = ReviewSession(classes=list(classes), threshold=threshold, sample=sample)
    session.reviewer = _text(data, "reviewer", limit=200)
    for number, item in enumerate(images, start=1):
        if not isinstance(item, dict):
            raise ValueError(f"image {number} must be an object")
        probabilities = item.get("probabilities")
        if probabilities is not None:
            if not isinstance(probabilities, list) or len(probabilities) != len(classes):
                raise ValueError(f"image {number}: 'probabilities' must list one number per class")
            probabilities = tuple(_optional_number(p, f"image {number}'s probabilities") for p in probabilities)
        elif not _text(item, "error"):
            raise ValueError(f"image {number} has neither probabilities nor an error")
        model_index = _optional_index(item.get("model"), len(models), f"image {number}'s model")
        row = ImageRow(
            path=Path(_text(item, "path", limit=4096)),
            probabilities=probabilities,
            error=item.get("error") or None,
            truth=_optional_index(item.get("truth"), len(classes), f"image {number}'s true class"),
            verified=_optional_index(item.get("verified"), len(classes), f"image {number}'s verified class"),
            reviewed=bool(item.get("reviewed", False)),
            sha256=_text(item, "sha256", limit=64),
            model=None if model_index is None else models[model_index],
            unfamiliarity=_optional_number(item.get("unfamiliarity"), f"image {number}'s unfamiliarity"),
            leukocyte_found=bool(item.get("leukocyte_found", True)),
            networks_agree=bool(item.get("networks_agree", True)),
            unfamiliar_threshold=_optional_number(
                item.get("unfamiliar_threshold"), f"image {number}'s unfamiliar threshold"
            ),
            decided_by=_text(item, "decided_by", limit=200),
            decided_at=_text(item, "decided_at", limit=100),
        )
        if row.error is not None and not isinstance(row.error, str):
            raise ValueError(f"image {number}: 'error' must be text")
        session.rows.append(row)
    audit = data.get("audit") or []
    if not isinstance(audit, list):
        raise ValueError("'audit' must be a list")
    session.audit = [AuditEntry.from_json(entry) for entry in audit]
    signature = data.get("signature")
    if signature is not None:
        if not isinstance(signature, dict):
            raise ValueError("'signature' must be an object")
        utc = _text(signature, "time_utc", limit=100)
        datetime.fromisoformat(utc)
        session.signature = Signature(
            _text(signature, "reviewer", limit=200),
            Stamp(utc, _text(signature, "time_local", limit=100)),
            _text(signature, "content_sha256", limit=64),
        )
    parent = data.get("parent")
    if parent is not None and not isinstance(parent, dict):
        raise ValueError("'parent' must be an object")
    session.parent = parent
    session.magnification = Magnification.from_json(data.get("magnification"))
    return session
