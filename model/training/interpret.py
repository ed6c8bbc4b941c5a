"""What a freshly trained model gets wrong on its validation set (fastai's
ClassificationInterpretation), and a plain-words caution when validation accuracy is optimistic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastai.interpret import ClassificationInterpretation

from model.evaluation.evaluate import CHANCE_MARGIN, Evaluation
from model.images.near_duplicates import CopyCheck
from model.training.train import TrainedModel

OPTIMISM_GAP = 0.05
# A few chance look-alikes are normal (0.5% of the blood-cells TEST images match a TRAIN cell);
# a random split of augmented data gives nearly all of its images (97% there).
COPY_SHARE_WORTH_A_WARNING = 0.05


@dataclass(frozen=True)
class TopLoss:
    path: Path
    true: str
    predicted: str
    probability: float
    loss: float


@dataclass
class ValidationReport:
    evaluation: Evaluation
    top_losses: list[TopLoss]


def interpret_validation(trained: TrainedModel, k: int = 12) -> ValidationReport:
    """Confusion and per-class metrics on the validation set, and its `k` highest-loss images."""
    learn = trained.learner
    if learn is None:
        raise ValueError("this trained model has no learner to interpret")
    dl = learn.dls.valid.new(shuffle=False, drop_last=False)
    learn.model.to(learn.dls.device)
    try:
        with learn.no_bar(), learn.no_logging():
            # One pass gives everything; fastai's from_learner would run the set twice.
            probabilities, targets, decoded, losses = learn.get_preds(dl=dl, with_decoded=True, with_loss=True)
    finally:
        learn.model.cpu()
    interpretation = ClassificationInterpretation(learn, dl, losses)
    targets = targets.numpy().astype(int)
    predictions = decoded.numpy().astype(int)
    evaluation = Evaluation.from_pairs(trained.classes, zip(targets, predictions, strict=True))
    top, indices = interpretation.top_losses(min(k, len(targets)))
    items = dl.items
    top_losses = [
        TopLoss(
            path=items[i].path,
            true=trained.classes[targets[i]],
            predicted=trained.classes[predictions[i]],
            probability=float(probabilities[i].max()),
            loss=float(loss),
        )
        for loss, i in zip(top.tolist(), indices.tolist(), strict=True)
    ]
    return ValidationReport(evaluation, top_losses)


def validation_caution(
    copies: CopyCheck | None, valid_accuracy: float, test_accuracy: float | None, n_classes: int = 4
) -> str:
    """Plain words for a technician on how far the validation accuracy can be trusted."""
    lines = []
    if not valid_accuracy > 1 / n_classes + CHANCE_MARGIN:
        return (
            f"Validation accuracy {valid_accuracy:.1%} is about what guessing gives with {n_classes} classes "
            f"({1 / n_classes:.0%}): this model has not learnt to tell the classes apart."
        )
    if copies is not None and copies.share >= COPY_SHARE_WORTH_A_WARNING:
        lines.append(
            f"{copies.copies} of the {copies.checked} validation images ({copies.share:.0%}) look like copies "
            "of training images: the same cell rotated, flipped or shifted, as in augmented data sets. The "
            "model has seen those cells, so the validation accuracy shown is optimistic. Judge it on a "
            "separate test folder of cells it has never seen, or train again with the validation split "
            "by cell (on the settings page)."
        )
    if test_accuracy is not None and valid_accuracy - test_accuracy > OPTIMISM_GAP:
        lines.append(
            f"Here the test folder scores {test_accuracy:.1%} against {valid_accuracy:.1%} on validation: "
            f"expect about {test_accuracy:.0%} on new samples."
        )
    return " ".join(lines)
