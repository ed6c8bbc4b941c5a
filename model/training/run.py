"""One training run, from settings to a saved model file: scan -> fit -> evaluate -> save.

`bloodcell train` drives the stages one after the other; the training wizard drives them one
page at a time on one shared instance. Each stage is a task (`stage(state)`:
progress through `state.report`, cancellation through `state.should_stop`) that returns its
result; whoever drives the run keeps the result on it, so a stage that was superseded or
cancelled changes nothing. Both drivers therefore record the same metrics in the same form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from model.common.collector import import_quietly
from model.common.events import ScanProgress
from model.common.task import TaskState
from model.evaluation.evaluate import CHANCE_MARGIN
from model.training.checks import training_problems
from model.training.settings import TrainConfig

if TYPE_CHECKING:
    from model.evaluation.evaluate import Evaluation
    from model.images.near_duplicates import CopyCheck
    from model.images.scan import DatasetScan
    from model.inference.classifier import Classifier
    from model.modelfile.torch_file import ModelInfo
    from model.training.interpret import ValidationReport
    from model.training.train import TrainedModel
    from model.unfamiliar.statistics import ReferenceStatistics


class RunError(RuntimeError):
    """A stage cannot run: the one before it has not produced what it needs."""


@dataclass(frozen=True)
class ScannedData:
    """The checked training (and validation) folders, and which folders they were."""

    train: DatasetScan
    valid: DatasetScan | None
    folders: tuple
    more: tuple = ()  # the scans of the further data folders (TrainConfig.more_data)

    def problems(self) -> list[str]:
        return training_problems(self.train, self.valid, self.more)


@dataclass
class RunEvaluation:
    """How the trained model did: on the test folder (recorded in the file) and, when asked
    for, a look at its validation set (errors, copies of training images, a caution)."""

    test: Evaluation | None = None
    test_folder: Path | None = None
    validation: ValidationReport | None = None
    copies: CopyCheck | None = None
    caution: str = ""
    # The model in use before this one, on the same test folder (when the classes match).
    baseline: Evaluation | None = None
    baseline_name: str = ""
    # Its unfamiliar-image statistics (model.unfamiliar.statistics), made from its own training and
    # validation images; None when they could not be made (`calibration_problem` says why).
    references: ReferenceStatistics | None = None
    calibration_problem: str = ""

    def go_live(self, n_classes: int, valid_accuracy: float) -> tuple[bool, str]:
        """Whether the new model may replace the one in use without a second thought, and why:
        not when it is no better than guessing, nor when it does worse than the current model
        on the same test folder."""
        test = self.test if self.test is not None and self.test.total else None
        if test:
            figure, what = test.balanced_accuracy, "balanced accuracy on the test folder"
        else:
            figure, what = valid_accuracy, "validation accuracy"
        chance = 1 / n_classes
        if not figure > chance + CHANCE_MARGIN:
            return False, f"Its {what} is {figure:.1%}, about what guessing gives ({chance:.0%}): not recommended."
        baseline = self.baseline
        if test is not None and baseline is not None and baseline.total:
            comparison = (
                f"On {self.test_folder}: this model {test.accuracy:.1%} (balanced {test.balanced_accuracy:.1%}), "
                f"the current model{f' ({self.baseline_name})' if self.baseline_name else ''} "
                f"{baseline.accuracy:.1%} (balanced {baseline.balanced_accuracy:.1%})."
            )
            if test.balanced_accuracy < baseline.balanced_accuracy:
                return False, f"{comparison} It does worse than the model in use: not recommended."
            return True, comparison
        return True, f"Its {what} is {figure:.1%}."

    def test_metrics(self) -> dict | None:
        """What a model file records about the test folder, or None without one."""
        if self.test is None or not self.test.total or self.test_folder is None:
            return None
        return {"folder": str(self.test_folder), **self.test.to_json()}


@dataclass
class TrainingRun:
    config: TrainConfig = field(default_factory=lambda: TrainConfig(data=Path(".")))
    test_folder: Path | None = None
    # The model in use, scored on the same test folder to compare.
    baseline: Classifier | None = None
    scanned: ScannedData | None = None
    trained: TrainedModel | None = None
    evaluation: RunEvaluation | None = None

    # -- stages
    def scan(self, state: TaskState) -> ScannedData:
        """Check every image of the training (and validation) folder."""
        from model.images.scan import scan_dataset

        config = self.config

        def scan(folder: Path, what: str) -> DatasetScan:
            return scan_dataset(
                folder,
                on_progress=lambda done, total: state.report(ScanProgress(what, done, total)),
                should_stop=state.should_stop,
            )

        train = scan(config.data, "training data")
        valid = scan(config.valid, "validation data") if config.valid else None
        more = tuple(scan(Path(folder), f"training data ({Path(folder).name})") for folder in config.more_data)
        return ScannedData(train, valid, self._folders(), more)

    def _folders(self) -> tuple:
        config = self.config
        return (config.data, config.valid, *config.more_data)

    def checked_data(self) -> ScannedData:
        """The scan of the folders the settings name, or why there is none to train on."""
        if self.scanned is None or self.scanned.folders != self._folders():
            raise RunError("the training data have not been checked yet")
        problems = self.scanned.problems()
        if problems:
            from model.training.train import TrainingError

            raise TrainingError("; ".join(problems))
        return self.scanned

    def preview(self, state: TaskState, seed: int) -> list:
        """16 images of a real training batch, augmented as training will."""
        import_quietly("model.training.preview")
        from model.training.preview import augmented_batch

        config = self.config
        return augmented_batch(self.checked_data().train, config.policy, config.augmentation, seed=seed)

    def find_learning_rate(self, state: TaskState) -> tuple[list[float], list[float], float]:
        import_quietly("model.training.train")
        from model.training.train import find_learning_rate

        scanned = self.checked_data()
        return find_learning_rate(self.config, state.should_stop, scanned=(scanned.train, scanned.valid))

    def train(self, state: TaskState) -> TrainedModel:
        import_quietly("model.training.train")
        from model.training.train import fit

        scanned = self.checked_data()
        scans = (scanned.train, scanned.valid)
        more = list(scanned.more)
        return fit(self.config, on_event=state.report, should_stop=state.should_stop, scanned=scans, more_scans=more)

    def evaluate(self, state: TaskState, *, review_validation: bool = True) -> RunEvaluation:
        """The unfamiliar-image statistics, made from the training's own images; test-folder
        metrics; with `review_validation`, also the validation set's errors and whether it
        holds copies of training images (what the wizard shows)."""
        from model.evaluation.evaluate import evaluate_folder
        from model.modelfile.opening import open_classifier
        from model.training.calibrate import labelled, reference_statistics
        from model.unfamiliar.statistics import ReferenceError

        trained = self.trained_model()
        evaluation = RunEvaluation(test_folder=self.test_folder)
        classifier = open_classifier(trained.loaded(), trained.config.device)
        try:
            classifier.references = evaluation.references = reference_statistics(
                classifier,
                labelled(trained.train_items, trained.classes),
                [item.path for item in trained.valid_items],
                state,
                held_out_sources=[item.source for item in trained.valid_items],
            )
        except ReferenceError as error:
            evaluation.calibration_problem = str(error)
        if self.test_folder is not None:
            evaluation.test = evaluate_folder(classifier, self.test_folder, should_stop=state.should_stop)
            baseline = self.baseline
            if review_validation and baseline is not None and baseline.classes == trained.classes:
                evaluation.baseline = evaluate_folder(baseline, self.test_folder, should_stop=state.should_stop)
                evaluation.baseline_name = baseline.info.name
        if review_validation:
            self._review_validation(state, trained, evaluation)
        return evaluation

    def model_info(self, *, name: str, notes: str = "") -> ModelInfo:
        """What the model file records: data, settings, history, validation and test metrics."""
        test = self.evaluation.test_metrics() if self.evaluation is not None else None
        return self.trained_model().model_info(name=name, notes=notes, test_metrics=test)

    def save(self, path: Path | str, *, name: str, notes: str = "") -> Path:
        from model.modelfile.torch_file import save

        references = self.evaluation.references if self.evaluation is not None else None
        return save(path, self.trained_model().module, self.model_info(name=name, notes=notes), references=references)

    # -- helpers
    def trained_model(self) -> TrainedModel:
        if self.trained is None:
            raise RunError("there is no trained model yet")
        return self.trained

    @staticmethod
    def _review_validation(state: TaskState, trained: TrainedModel, evaluation: RunEvaluation) -> None:
        from model.images.near_duplicates import CopyCheck, check_for_copies
        from model.training.interpret import interpret_validation, validation_caution

        evaluation.validation = interpret_validation(trained)
        if trained.config.validation_by_cell:  # the split kept every copy of a cell on one side
            evaluation.copies = CopyCheck(copies=0, checked=len(trained.valid_items))
        else:
            evaluation.copies = check_for_copies(
                [item.path for item in trained.valid_items],
                [item.path for item in trained.train_items],
                on_progress=lambda done, total: state.report(
                    ScanProgress("comparing validation and training images", done, total)
                ),
                should_stop=state.should_stop,
            )
        test = evaluation.test
        evaluation.caution = validation_caution(
            evaluation.copies,
            evaluation.validation.evaluation.accuracy,
            test.accuracy if test is not None and test.total else None,
            len(trained.classes),
        )
