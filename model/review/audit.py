"""The audit trail of a review session: who did what to which cell, from what to what, and when.

Every entry carries the time in UTC and in the lab's local zone (a report read abroad, or after
a change to summer time, must still say when the technician acted), the reviewer, what
happened and its details. Entries are only ever appended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

# What can happen to a session, in the words the trail shows.
CLASSIFIED = "classified"
RECLASSIFIED = "reclassified"
REVIEWED = "marked reviewed"
UNDONE = "decision undone"
EXPORTED = "exported"
SIGNED = "signed"
NEW_VERSION = "new version of a signed session"
SAMPLE_CHANGED = "sample details changed"
NEW_SET = "new set of images"
EVENTS = (CLASSIFIED, RECLASSIFIED, REVIEWED, UNDONE, EXPORTED, SIGNED, NEW_VERSION, SAMPLE_CHANGED, NEW_SET)


@dataclass(frozen=True)
class Stamp:
    """A moment, in UTC and as the lab's clock showed it (with its offset and zone name)."""

    utc: str
    local: str

    @classmethod
    def now(cls) -> Stamp:
        moment = datetime.now(UTC)
        local = moment.astimezone()
        return cls(moment.isoformat(timespec="seconds"), f"{local.isoformat(timespec='seconds')} {local.tzname()}")


@dataclass(frozen=True)
class AuditEntry:
    event: str
    reviewer: str
    stamp: Stamp
    details: dict = field(default_factory=dict)

    def describe(self) -> str:
        """One line: when, who, what."""
        words = ", ".join(f"{key} {value}" for key, value in self.details.items())
        who = self.reviewer or "(no reviewer)"
        return f"{self.stamp.local}  {who}: {self.event}{f' ({words})' if words else ''}"

    def to_json(self) -> dict:
        return {
            "event": self.event,
            "reviewer": self.reviewer,
            "time_utc": self.stamp.utc,
            "time_local": self.stamp.local,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict) -> AuditEntry:
        if not isinstance(data, dict):
            raise ValueError("an audit entry must be an object")
        event, reviewer = data.get("event"), data.get("reviewer", "")
        utc, local = data.get("time_utc"), data.get("time_local", "")
        details = data.get("details", {})
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        if not (isinstance(reviewer, str) and isinstance(utc, str) and isinstance(local, str)) or not isinstance(
            details, dict
        ):
            raise ValueError("an audit entry's reviewer, times and details have the wrong types")
        try:
            datetime.fromisoformat(utc)
        except ValueError:
            raise ValueError(f"an audit entry's time {utc!r} is not an ISO 8601 time") from None
        if not all(isinstance(v, (str, int, float, bool)) or v is None for v in details.values()):
            raise ValueError("an audit entry's details must be plain values")
        return cls(event, reviewer, Stamp(utc, local), dict(details))
