"""A technician's review session, free of Qt: classified images, corrections, the differential,
the review bin, ground truth and the CSV export."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from model import __version__
from model.common.formatting import display_path
from model.evaluation.evaluate import Evaluation
from model.images.magnification import Magnification
from model.inference.acceptance import DEFAULT_REVIEW_THRESHOLD, is_unsure
from model.review.audit import (
    CLASSIFIED,
    NEW_SET,
    NEW_VERSION,
    RECLASSIFIED,
    REVIEWED,
    SIGNED,
    UNDONE,
    AuditEntry,
    Stamp,
)
from model.unfamiliar.statistics import DEFAULT_PASS_SHARE, AnotherLab, another_lab, unidentified_reason

if TYPE_CHECKING:
    from model.inference.classifier import Result

# Chosen from the default model on TEST (README, "Why 0.95"): its errors are mostly confident,
# so a lower threshold catches almost none of them; at 0.95 about a quarter of the errors
# land in the review bin, with 10 % of the correct answers.
# An image's status in every export (the CSV's `status` column).
ACCEPTED, REVIEW, UNIDENTIFIED, UNREADABLE = "accepted", "review", "unidentified", "unreadable"


@dataclass(frozen=True)
class ModelIdentity:
    """The model that classified an image: its name and its file's SHA-256."""

    name: str
    sha256: str


class SessionSigned(RuntimeError):
    """A signed session is read-only: open a new version of it to change anything."""

    def __init__(self) -> None:
        super().__init__("this session is signed and read-only; open a new version of it to make changes")


class SignOffRefused(ValueError):
    """Signing is refused while work remains; the message says how much."""


@dataclass
class Sample:
    """What the session is about: one sample (a slide), its identifiers and target count."""

    sample_id: str = ""
    patient_ref: str = ""
    # A manual differential counts 100 (or 200) cells; the report compares the count with it.
    target_count: int = 100
    comments: str = ""


@dataclass(frozen=True)
class Signature:
    reviewer: str
    stamp: Stamp
    # SHA-256 of the content signed (model.review.integrity), fixed when first saved.
    content_sha256: str = ""


@dataclass(frozen=True)
class SessionSummary:
    """A session's totals: images per class (the differential), and how many are classified,
    unreadable, unidentified, waiting for review and reviewed."""

    counts: list[int]
    classified: int
    unreadable: int
    unidentified: int
    to_review: int
    reviewed: int
    # The images look like a lab new to the model and some still wait (ReviewSession.provisional).
    provisional: bool


@dataclass
class ImageRow:
    path: Path
    probabilities: tuple[float, ...] | None = None
    error: str | None = None
    truth: int | None = None
    verified: int | None = None
    reviewed: bool = False
    sha256: str = ""  # of the image file: the same picture under another name is the same image
    model: ModelIdentity | None = None
    # Unfamiliarity (model.unfamiliar.statistics): the score, the gates, and the threshold in effect for
    # the model that classified it (None: that model cannot tell).
    unfamiliarity: float | None = None
    leukocyte_found: bool = True
    networks_agree: bool = True
    unfamiliar_threshold: float | None = None
    # Who made the technician's decision on this image, and when (UTC): empty until then.
    decided_by: str = ""
    decided_at: str = ""

    @classmethod
    def from_result(cls, result: Result, truth: int | None = None, threshold: float | None = None, **more) -> ImageRow:
        if not result.ok:
            return cls(result.path, None, result.error, truth, unfamiliar_threshold=threshold, **more)
        return cls(
            result.path,
            result.probabilities,
            None,
            truth,
            unfamiliarity=result.unfamiliarity,
            leukocyte_found=result.leukocyte_found,
            networks_agree=result.networks_agree,
            unfamiliar_threshold=threshold,
            **more,
        )

    @property
    def ok(self) -> bool:
        return self.probabilities is not None

    @property
    def unfamiliar_reason(self) -> str | None:
        """Why the model's answer is not to be trusted for this image, or None."""
        return unidentified_reason(self, self.unfamiliar_threshold) if self.ok else None

    @property
    def unidentified(self) -> bool:
        """In the Unidentified bin: unfamiliar, and not yet given a class by the technician."""
        return self.verified is None and self.unfamiliar_reason is not None

    def unsure(self, review_threshold: float) -> bool:
        """The model's answer needs a technician (model.inference.acceptance)."""
        return is_unsure(self.confidence, self.networks_agree, review_threshold)

    # A row's answer never changes (a new model's answer is a new row: replace_answer), so its
    # class and confidence are worked out once; the window counts them on every refresh.
    @cached_property
    def predicted(self) -> int | None:
        if self.probabilities is None:
            return None
        return max(range(len(self.probabilities)), key=self.probabilities.__getitem__)

    @cached_property
    def confidence(self) -> float | None:
        return None if self.probabilities is None else max(self.probabilities)

    @property
    def final(self) -> int | None:
        """The class the report counts: the technician's, else the model's; none while the
        image is unidentified."""
        if self.verified is not None:
            return self.verified
        return None if self.unidentified else self.predicted


@dataclass
class ReviewSession:
    classes: list[str]
    threshold: float = DEFAULT_REVIEW_THRESHOLD
    rows: list[ImageRow] = field(default_factory=list)
    sample: Sample = field(default_factory=Sample)
    reviewer: str = ""
    audit: list[AuditEntry] = field(default_factory=list)
    signature: Signature | None = None
    # The signed session this one is a new version of: {"sample_id", "signed_by", "signed_utc", "sha256"}.
    parent: dict | None = None
    # The familiar share the unfamiliar-image thresholds pass (the window's setting): what the
    # model's own labs give, against which a batch is judged another lab's (model.unfamiliar.statistics).
    pass_share: float = DEFAULT_PASS_SHARE
    # The lab's magnification the images were framed at (model.images.magnification); None: as in training.
    magnification: Magnification | None = None
    _by_path: dict[Path, int] = field(default_factory=dict, init=False, repr=False)
    _lab_verdict: tuple = field(default=(None, None), init=False, repr=False, compare=False)
    # Counts the changes to answers that keep the number of rows (a threshold moved, an answer
    # replaced): with the rows' identity and count, what the cached lab verdict depends on.
    _answers_moved: int = field(default=0, init=False, repr=False, compare=False)
    _carried: int = field(default=0, init=False, repr=False, compare=False)
    _by_content: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def class_name(self, index: int | None) -> str:
        return "" if index is None else self.classes[index]

    def add(
        self,
        result: Result,
        truth: int | None = None,
        *,
        sha256: str = "",
        model: ModelIdentity | None = None,
        replace: bool = False,
        unfamiliar_threshold: float | None = None,
    ) -> ImageRow | None:
        """A row for a classified image; None when the image is already here (same path, or
        same content by SHA-256) and not `replace`, which instead replaces that row (the
        technician's decisions on it are dropped with the old answer)."""
        self.check_open()
        row = ImageRow.from_result(result, truth, unfamiliar_threshold, sha256=sha256, model=model)
        existing = self.index_of(result.path, sha256)
        if existing is not None:
            if not replace:
                return None
            self.rows[existing] = row
            self._answers_moved += 1
            self._reindex()
            return row
        self.rows.append(row)
        self._by_path[row.path] = len(self.rows) - 1
        if sha256:
            self._by_content[sha256] = len(self.rows) - 1
        return row

    def index_of(self, path: Path, sha256: str = "") -> int | None:
        """The row of this file (by path) or of the same picture (by content), if any."""
        if len(self._by_path) != len(self.rows):
            self._reindex()
        found = self._by_path.get(path)
        return found if found is not None or not sha256 else self._by_content.get(sha256)

    def _reindex(self) -> None:
        self._by_path = {row.path: i for i, row in enumerate(self.rows)}
        self._by_content = {row.sha256: i for i, row in enumerate(self.rows) if row.sha256}

    def known(self) -> frozenset[str]:
        """Paths and content hashes of every image here: what a new job need not classify."""
        return frozenset({str(row.path) for row in self.rows} | {row.sha256 for row in self.rows if row.sha256})

    def models(self) -> list[ModelIdentity]:
        """The models that classified these images, in order of first use."""
        return list(dict.fromkeys(row.model for row in self.rows if row.model is not None))

    def clear(self) -> None:
        self.check_open()
        self.rows.clear()
        self.magnification = None  # the next pictures may come from another microscope
        self._reindex()

    # -- sign-off and the audit trail
    @property
    def signed(self) -> bool:
        return self.signature is not None

    def check_open(self) -> None:
        if self.signed:
            raise SessionSigned()

    def record(self, event: str, **details) -> AuditEntry:
        entry = AuditEntry(event, self.reviewer, Stamp.now(), details)
        self.audit.append(entry)
        return entry

    def record_classification(self, model: ModelIdentity | None, images: int) -> None:
        """A classification run: which model (name and file SHA-256), which app, how many images,
        and how many of the technician's decisions were carried over to new answers."""
        if images:
            carried = {"decisions_carried_over": self._carried} if self._carried else {}
            self.record(
                CLASSIFIED,
                model=model.name if model else "",
                model_sha256=model.sha256 if model else "",
                app_version=__version__,
                images=images,
                **carried,
            )
        self._carried = 0

    def replace_answer(
        self,
        index: int,
        result: Result,
        *,
        truth: int | None,
        sha256: str,
        model: ModelIdentity | None,
        unfamiliar_threshold: float | None,
    ) -> ImageRow:
        """A new model's answer for an image already here. Nothing the technician or the folder
        gave is lost: the folder's class, the class and review mark with who decided and when
        (counted for the next classification entry of the trail)."""
        self.check_open()
        old = self.rows[index]
        row = ImageRow.from_result(
            result,
            truth if truth is not None else old.truth,
            unfamiliar_threshold,
            sha256=sha256 or old.sha256,
            model=model,
        )
        row.verified, row.reviewed, row.decided_by, row.decided_at = (
            old.verified, old.reviewed, old.decided_by, old.decided_at,
        )  # fmt: skip
        self._carried += old.verified is not None or old.reviewed
        self.rows[index] = row
        self._answers_moved += 1  # as many rows, other answers: the lab is judged anew
        return row

    def carry_on_from(self, old: ReviewSession, model: ModelIdentity | None) -> None:
        """A new set of images for the same sample (another model, maybe other classes): its ID,
        patient, reviewer and trail carry on here, with an entry saying how many images were set
        aside and for which model."""
        self.check_open()
        self.sample, self.reviewer, self.parent = old.sample, old.reviewer, old.parent
        self.audit = list(old.audit)
        self.record(NEW_SET, images_set_aside=len(old.rows), model=model.name if model else "")

    def unsigned_work(self) -> str | None:
        """For a signed session: why BloodCell could not have signed it as it is (images still
        waiting, no reviewer), or None."""
        signature = self.signature
        if signature is None:
            return None
        if not signature.reviewer.strip():
            return "it is signed by nobody"
        remaining = self._remaining()
        return f"it is signed, but {remaining}" if remaining else None

    def unresolved(self) -> dict[str, int]:
        """What stops a sign-off, with how many of each."""
        return {
            "in the review bin (below the confidence threshold, not reviewed)": self.review_count,
            "unidentified": self.unidentified_count,
        }

    def sign_refusal(self) -> str | None:
        """Why signing would be refused now, or None when it may go ahead."""
        if self.signed:
            return str(SessionSigned())
        if not self.reviewer.strip():
            return "a session is signed by its reviewer: enter your name first"
        if not self.classified:
            return "there is nothing to sign: no image has been classified"
        remaining = self._remaining()
        return f"cannot sign yet: {remaining}" if remaining else None

    def _remaining(self) -> str:
        """What still waits for a technician, in words ("3 in the review bin ... and 1 unidentified")."""
        return " and ".join(f"{count} {what}" for what, count in self.unresolved().items() if count)

    def sign(self) -> Signature:
        """Sign the session as its reviewer: refused while images wait in the review bin or the
        Unidentified bin, without a reviewer, or with nothing classified."""
        self.check_open()
        refusal = self.sign_refusal()
        if refusal:
            raise SignOffRefused(refusal)
        stamp = Stamp.now()
        self.signature = Signature(self.reviewer, stamp)
        self.audit.append(AuditEntry(SIGNED, self.reviewer, stamp, {"cells_counted": sum(self.counts())}))
        return self.signature

    def new_version(self, sha256: str = "") -> ReviewSession:
        """An unsigned copy of a signed session to correct, linked to it; the trail continues."""
        import copy

        signature = self.signature
        if signature is None:
            raise ValueError("only a signed session needs a new version; this one can be changed as it is")
        version = copy.deepcopy(self)
        version.signature = None
        version.parent = {
            "sample_id": self.sample.sample_id,
            "signed_by": signature.reviewer,
            "signed_utc": signature.stamp.utc,
            "sha256": sha256,
        }
        version.record(NEW_VERSION, signed_by=signature.reviewer, signed_utc=signature.stamp.utc)
        return version

    def _decided(self, row: ImageRow, event: str, **details) -> None:
        entry = self.record(event, cell=display_path(row.path), **details)
        row.decided_by, row.decided_at = (entry.reviewer, entry.stamp.utc) if event != UNDONE else ("", "")

    def needs_review(self, row: ImageRow) -> bool:
        """In the review bin: unsure (below the threshold, or an ensemble's networks name different
        classes), or the session looks like a lab new to the model (every answer is then
        provisional), and unreviewed. An unidentified image is in its own bin."""
        if not row.ok or row.reviewed or row.unidentified:
            return False
        return row.unsure(self.threshold) or self.another_lab() is not None

    @property
    def provisional(self) -> bool:
        """The differential cannot be taken as it is: the images look like a lab new to the model
        and some still wait for a technician."""
        return self.another_lab() is not None and self.review_count > 0

    def status(self, row: ImageRow) -> str:
        """What an export says of the image: accepted, review, unidentified or unreadable."""
        if not row.ok:
            return UNREADABLE
        if row.unidentified:
            return UNIDENTIFIED
        return REVIEW if self.needs_review(row) else ACCEPTED

    @property
    def unidentified_count(self) -> int:
        return sum(row.unidentified for row in self.rows)

    def another_lab(self) -> AnotherLab | None:
        """Whether the session's images look like a lab the model does not know (judged on the
        images classified by a model that can tell). Kept until rows come or go or thresholds
        move, as every row's review status asks it."""
        key = (id(self.rows), len(self.rows), self._answers_moved, self.pass_share)
        if self._lab_verdict[0] != key:
            judged = (row for row in self.rows if row.ok and row.unfamiliar_threshold is not None)
            self._lab_verdict = (key, another_lab((row.unfamiliar_reason for row in judged), self.pass_share))
        return self._lab_verdict[1]

    def set_unfamiliar_threshold(self, model: ModelIdentity | None, threshold: float | None) -> None:
        """A new threshold for the rows of one model (the technician moved the setting); a signed
        session keeps the thresholds it was signed with."""
        if self.signed:
            return
        for row in self.rows:
            if row.model == model and row.ok:
                row.unfamiliar_threshold = threshold
        self._answers_moved += 1

    def set_verified(self, indices: list[int], class_index: int | None) -> None:
        """Reclassify by hand; a reclassified image counts as reviewed. None undoes the review:
        the image is back as the model left it (unreviewed, in the review bin if it was)."""
        self.check_open()
        for i in indices:
            row = self.rows[i]
            if not row.ok or (row.verified == class_index and row.reviewed == (class_index is not None)):
                continue
            before = "unidentified" if row.unidentified else self.class_name(row.final)
            row.verified = class_index
            row.reviewed = class_index is not None
            if class_index is None:
                self._decided(row, UNDONE, back_to=self.class_name(row.final) or "unidentified")
            else:
                self._decided(row, RECLASSIFIED, from_class=before, to_class=self.classes[class_index])

    def set_reviewed(self, indices: list[int], reviewed: bool = True) -> None:
        self.check_open()
        for i in indices:
            row = self.rows[i]
            if row.ok and row.reviewed != reviewed:
                row.reviewed = reviewed
                self._decided(row, REVIEWED if reviewed else UNDONE, as_class=self.class_name(row.final))

    def counts(self) -> list[int]:
        """The differential: images per class, by the technician's class where given."""
        counts = [0] * len(self.classes)
        for row in self.rows:
            if row.final is not None:
                counts[row.final] += 1
        return counts

    @property
    def classified(self) -> int:
        return sum(row.ok for row in self.rows)

    @property
    def failed(self) -> list[ImageRow]:
        return [row for row in self.rows if not row.ok]

    @property
    def review_count(self) -> int:
        return sum(self.needs_review(row) for row in self.rows)

    def summary(self) -> SessionSummary:
        """The session's totals in one pass over the rows (what the window's summary, the
        report's and `session info` count)."""
        counts = [0] * len(self.classes)
        classified = unreadable = unidentified = to_review = reviewed = 0
        new_lab = self.another_lab() is not None
        for row in self.rows:
            if not row.ok:
                unreadable += 1
                continue
            classified += 1
            reviewed += row.reviewed
            if row.unidentified:
                unidentified += 1
                continue
            counts[row.final] += 1  # type: ignore[index]  # set: the row is classified and identified
            to_review += not row.reviewed and (new_lab or row.unsure(self.threshold))
        provisional = new_lab and to_review > 0
        return SessionSummary(counts, classified, unreadable, unidentified, to_review, reviewed, provisional)

    def evaluation(self) -> Evaluation | None:
        """How the model did against folder ground truth, where images have it."""
        pairs = [(row.truth, row.predicted) for row in self.rows if row.truth is not None and row.predicted is not None]
        return Evaluation.from_pairs(self.classes, pairs) if pairs else None
