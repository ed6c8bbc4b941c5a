"""Engine calls the training wizard runs in workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bloodcell_gui.workers import TaskState


@dataclass
class ScannedData:
    train: object  # model.scan.DatasetScan
    valid: object | None


def scan_folders(state: TaskState, train: Path, valid: Path | None) -> ScannedData:
    from model.events import ScanProgress
    from model.scan import scan_dataset

    def scan(folder: Path, what: str):
        return scan_dataset(
            folder,
            on_progress=lambda done, total: state.report(ScanProgress(what, done, total)),
            should_stop=state.should_stop,
        )

    return ScannedData(scan(train, "training data"), scan(valid, "validation data") if valid else None)


def preview_batch(state: TaskState, scan, policy, augmentation, seed: int):
    from model.preview import augmented_batch

    return augmented_batch(scan, policy, augmentation, seed=seed)


def find_learning_rate(state: TaskState, config, scanned: ScannedData):
    from model.train import find_learning_rate as lr_find

    return lr_find(config, state.should_stop, scanned=(scanned.train, scanned.valid))


def train(state: TaskState, config, scanned: ScannedData):
    from model.train import fit

    return fit(config, on_event=state.report, should_stop=state.should_stop, scanned=(scanned.train, scanned.valid))


@dataclass
class EvaluationResult:
    validation: object  # model.interpret.ValidationReport
    test: object | None  # model.evaluate.Evaluation
    copies: object  # model.near_duplicates.CopyCheck
    caution: str


def evaluate(state: TaskState, trained, test_folder: Path | None) -> EvaluationResult:
    from model.evaluate import evaluate_folder
    from model.events import ScanProgress
    from model.infer import Classifier
    from model.interpret import interpret_validation, validation_caution
    from model.near_duplicates import CopyCheck, check_for_copies

    validation = interpret_validation(trained)
    test = None
    if test_folder is not None:
        classifier = Classifier(trained.loaded(), trained.config.device)
        test = evaluate_folder(classifier, test_folder, should_stop=state.should_stop)
    if trained.config.validation_by_cell:  # the split kept every copy of a cell on one side
        copies = CopyCheck(copies=0, checked=len(trained.valid_items))
    else:
        copies = check_for_copies(
            [item.path for item in trained.valid_items],
            [item.path for item in trained.train_items],
            on_progress=lambda done, total: state.report(
                ScanProgress("comparing validation and training images", done, total)
            ),
            should_stop=state.should_stop,
        )
    caution = validation_caution(
        copies, validation.evaluation.accuracy, test.accuracy if test is not None and test.total else None
    )
    return EvaluationResult(validation, test, copies, caution)


def save_model(state: TaskState, trained, path: Path, name: str, notes: str, test) -> Path:
    from model.modelfile import save

    test_metrics = test.to_json() if test is not None and test.total else None
    return save(path, trained.module, trained.model_info(name=name, notes=notes, test_metrics=test_metrics))
