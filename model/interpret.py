"""What a freshly trained model gets wrong on its validation set (fastai's
ClassificationInterpretation), and a plain-words caution about leaky validation splits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastai.interpret import ClassificationInterpretation

from model.evaluate import Evaluation
from model.train import TrainedModel

OPTIMISM_GAP = 0.05


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


def validation_caution(random_split: bool, valid_accuracy: float, test_accuracy: float | None) -> str:
    """Plain words for a technician on how far the validation accuracy can be trusted."""
    lines = []
    if random_split:
        lines.append(
            "The validation images were picked at random from the training folder. If that folder holds "
            "several pictures of the same cell (rotated or shifted copies, as in augmented data sets), the "
            "same cells are on both sides and the validation accuracy shown is optimistic. Judge the model "
            "on a separate test folder of cells it has never seen."
        )
    if test_accuracy is not None and valid_accuracy - test_accuracy > OPTIMISM_GAP:
        lines.append(
            f"Here the test folder scores {test_accuracy:.1%} against {valid_accuracy:.1%} on validation: "
            f"expect about {test_accuracy:.0%} on new samples."
        )
    return " ".join(lines)
