"""Tamper evidence for session files: what was saved is what is read.

Every session file (format 2) carries

- `integrity.content_sha256`: SHA-256 of its canonical content (everything but the audit trail,
  the save time and the app version: sample, reviewer, threshold, answers, decisions, image
  hashes, signature);
- a hash chain over the audit trail: each entry's `chain` is SHA-256 of the previous entry's
  `chain` and of the entry itself, and `integrity.audit_head` is the last one, so an entry
  edited, removed, reordered or added in a text editor breaks the chain at that entry;

and a signature records the SHA-256 of the content it signed (`signature.content_sha256`).

What this detects: any edit made without recomputing the hashes (a text editor, a damaged disk,
a program that rewrote part of the file), a signature that the app could not have made (images
still waiting for review), and with the image files at hand, an image replaced after sign-off.
What it cannot: someone who recomputes the hashes with this published algorithm. That needs a
secret the editor does not have (a lab key kept off the PC, or a digital signature); the README
says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

CHAIN_START = hashlib.sha256(b"bloodcell-audit-chain-1").hexdigest()
# Saved by the app, not part of what it vouches for.
UNSIGNED_KEYS = ("integrity", "audit", "saved_utc", "app_version")


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()


def content_sha256(document: dict, *, without_signature: bool = False) -> str:
    """The hash of a session document's content (`without_signature`: what a signature signs)."""
    skipped = UNSIGNED_KEYS + (("signature",) if without_signature else ())
    digest = hashlib.sha256()
    for piece in canonical_pieces({k: v for k, v in document.items() if k not in skipped}):
        digest.update(piece)
    return digest.hexdigest()


def canonical_pieces(document: dict) -> Iterator[bytes]:
    """`canonical(document)` in pieces, a list's items one by one: the same bytes, but no single
    call holds Python's lock for the whole of a long session (a background writer must not
    stall the GUI thread)."""
    yield b"{"
    for number, key in enumerate(sorted(document)):
        yield (b"," if number else b"") + canonical(key) + b":"
        value = document[key]
        if isinstance(value, list):
            yield b"["
            for index, item in enumerate(value):
                yield (b"," if index else b"") + canonical(item)
            yield b"]"
        else:
            yield canonical(value)
    yield b"}"


def chained(entries: list[dict]) -> list[dict]:
    """The audit entries (JSON objects) with their `chain` hashes."""
    previous, result = CHAIN_START, []
    for entry in entries:
        body = {k: v for k, v in entry.items() if k != "chain"}
        previous = hashlib.sha256(previous.encode() + canonical(body)).hexdigest()
        result.append({**body, "chain": previous})
    return result


def seal(document: dict) -> dict:
    """The document as saved: audit chained, integrity recorded."""
    audit = chained(document.get("audit") or [])
    sealed = {**document, "audit": audit}
    sealed["integrity"] = {
        "content_sha256": content_sha256(sealed),
        "audit_head": audit[-1]["chain"] if audit else CHAIN_START,
        "audit_entries": len(audit),
    }
    return sealed


@dataclass(frozen=True)
class Alteration:
    what: str

    def __str__(self) -> str:
        return self.what


def alterations(document: dict) -> list[Alteration]:
    """What was changed in a format-2 document since the app saved it, in words; [] if nothing."""
    found = []
    integrity = document.get("integrity")
    if not isinstance(integrity, dict):
        return [Alteration("its integrity record is missing")]
    if integrity.get("content_sha256") != content_sha256(document):
        found.append(Alteration(
            "its content (sample, reviewer, threshold, answers, decisions, image hashes or signature) was changed "
            "after it was saved"
        ))  # fmt: skip
    audit = document.get("audit")
    if not isinstance(audit, list) or not all(isinstance(entry, dict) for entry in audit):
        return [*found, Alteration("its audit trail is not a list of entries")]
    for number, (stored, expected) in enumerate(zip(audit, chained(audit), strict=True), start=1):
        if stored.get("chain") != expected["chain"]:
            found.append(Alteration(f"its audit trail was changed at entry {number} (of {len(audit)})"))
            break
    else:
        head = audit[-1].get("chain") if audit else CHAIN_START
        if head != integrity.get("audit_head") or len(audit) != integrity.get("audit_entries"):
            found.append(Alteration(
                f"its audit trail ends at entry {len(audit)}, but {integrity.get('audit_entries')} were saved"
            ))  # fmt: skip
    signature = document.get("signature")
    if isinstance(signature, dict) and signature.get("content_sha256") != content_sha256(
        document, without_signature=True
    ):
        found.append(Alteration("its signature does not sign this content"))
    return found
