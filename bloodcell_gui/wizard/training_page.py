"""Wizard page 4: train, with live curves; Stop keeps the best epoch, Cancel discards the run."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QHBoxLayout,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from bloodcell_gui.charts import LineChart
from bloodcell_gui.style import plain_label
from bloodcell_gui.workers import TaskRunner, describe_error
from model.common.formatting import format_seconds
from model.training.run import TrainingRun


class TrainingPage(QWizardPage):
    def __init__(self, run: TrainingRun, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Training")
        self.setSubTitle("Stop ends training and keeps the best epoch so far; Cancel discards this run.")
        self.run = run
        self.runner = TaskRunner(self)
        self._retry = False
        self.losses = LineChart("Loss", "epoch")
        self.losses.add_series("batch loss", "#9aa5b1", dashed=True)
        self.losses.add_series("training loss", "#0072B2")
        self.losses.add_series("validation loss", "#D55E00")
        self.accuracy = LineChart("Validation accuracy", "epoch")
        self.accuracy.add_series("accuracy", "#009E73")
        self.progress = QProgressBar()
        self.status = plain_label()
        self.status.setWordWrap(True)
        self.stop_button = QPushButton("Stop (keep best)")
        self.stop_button.clicked.connect(self.stop)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.clicked.connect(self.cancel)
        charts = QHBoxLayout()
        charts.addWidget(self.losses, 1)
        charts.addWidget(self.accuracy, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(charts, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

    def initializePage(self) -> None:
        self.start()

    @property
    def trained(self):
        return self.run.trained

    def start(self) -> None:
        self.run.trained = None
        self.losses.clear()
        self.accuracy.clear()
        config = self.run.config
        self.status.setText(
            f"Starting {config.arch} at {config.width}×{config.height}, batch size {config.batch_size}…"
        )
        self.progress.setRange(0, 0)
        self.stop_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.runner.start(
            self.run.train,
            on_progress=self._event,
            on_done=self._trained,
            on_error=self._failed,
            on_finished=self._done,
        )
        self.completeChanged.emit()

    def stop(self) -> None:
        if self.runner.running:
            self.status.setText("Stopping after this batch; the best epoch so far is kept…")
            self.runner.stop()

    def cancel(self) -> None:
        if self.runner.running:
            self.runner.discard()
            self.status.setText("Training cancelled: nothing was kept. Go back to change settings, or close.")
            self._done()

    def _event(self, event) -> None:
        from model.common.events import BatchProgress, EpochEnd, ScanProgress

        if isinstance(event, ScanProgress):
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
            self.status.setText(f"Before the first epoch, {event.what}: {event.done} of {event.total} images…")
        elif isinstance(event, BatchProgress):
            total = event.n_epochs * event.n_batches
            done = event.epoch * event.n_batches + event.batch + 1
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.losses.add_point("batch loss", event.epoch + (event.batch + 1) / event.n_batches, event.loss)
            self.status.setText(
                f"Epoch {event.epoch + 1} of {event.n_epochs}, batch {event.batch + 1} of {event.n_batches}: "
                f"loss {event.loss:.3f} · {format_seconds(event.elapsed)} elapsed, about "
                f"{format_seconds(event.eta)} left"
            )
        elif isinstance(event, EpochEnd):
            self.losses.add_point("training loss", event.epoch + 1, event.train_loss)
            self.losses.add_point("validation loss", event.epoch + 1, event.valid_loss)
            self.accuracy.add_point("accuracy", event.epoch + 1, event.accuracy)

    def _trained(self, trained) -> None:
        self.run.trained = trained
        best = trained.valid_metrics
        ending = f"Training {trained.ending}, {trained.seconds / 60:.1f} min on {trained.device}."
        if best:
            most_accurate = max(trained.history, key=lambda row: row["accuracy"])
            note = ""
            if most_accurate["accuracy"] > best["accuracy"] + 0.01:
                note = (
                    f" (epoch {most_accurate['epoch']} was more accurate, {most_accurate['accuracy']:.1%}, "
                    "but less sure of its answers)"
                )
            self.status.setText(
                f"{ending} Kept epoch {best['epoch']}, the lowest validation loss: validation accuracy "
                f"{best['accuracy']:.1%}{note}. Next: evaluation."
            )
        else:
            self.status.setText(f"{ending} No epoch ended, so the model is not evaluated on validation yet.")

    def _failed(self, error: Exception) -> None:
        from model.training.train import TrainingError

        message = describe_error(error)
        self.status.setText(f"Training failed: {message}")
        config = self.run.config
        if isinstance(error, TrainingError) and error.out_of_memory and config.batch_size > 1:
            half = config.batch_size // 2
            answer = QMessageBox.question(
                self, "GPU out of memory", f"{message}\n\nTrain again with batch size {half}?"
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.run.config = replace(config, batch_size=half)
                self._retry = True

    def _done(self) -> None:
        self.stop_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.completeChanged.emit()
        if self._retry:
            self._retry = False
            self.start()

    def isComplete(self) -> bool:
        return not self.runner.running and self.run.trained is not None

    def cleanupPage(self) -> None:
        self.cancel()
        self.runner.wait()
        self.run.trained = None
