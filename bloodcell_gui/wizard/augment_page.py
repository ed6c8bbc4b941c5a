"""Wizard page 2: the augmentation controls and a grid of augmented training images."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from bloodcell_gui.style import plain_label
from bloodcell_gui.timers import make_timer
from bloodcell_gui.wizard.widgets import spin
from bloodcell_gui.workers import TaskRunner, describe_error
from model.training.run import TrainingRun
from model.training.settings import Augmentation

TILES = 16


class AugmentPage(QWizardPage):
    def __init__(self, run: TrainingRun, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Augmentation preview")
        self.setSubTitle(
            "Training shows the network randomly flipped, turned, zoomed and re-lit copies of each image. "
            "These are 16 images of a real training batch, exactly as the network will see them."
        )
        self.run = run
        self.runner = TaskRunner(self)
        self.seed = 0
        self.generation = 0
        defaults = Augmentation()
        self.flip_vert = QCheckBox("Flip vertically as well as horizontally")
        self.flip_vert.setChecked(defaults.flip_vert)
        self.max_lighting = spin(0.0, 0.9, 0.05, defaults.max_lighting)
        self.max_zoom = spin(1.0, 2.0, 0.05, defaults.max_zoom)
        self.max_rotate = spin(0.0, 180.0, 5.0, defaults.max_rotate, decimals=0)
        self.max_warp = spin(0.0, 0.5, 0.05, defaults.max_warp)
        form = QFormLayout()
        form.addRow(self.flip_vert)
        form.addRow("Max lighting change", self.max_lighting)
        form.addRow("Max zoom", self.max_zoom)
        form.addRow("Max rotation (degrees)", self.max_rotate)
        form.addRow("Max perspective warp", self.max_warp)
        self.shuffle = QPushButton("Shuffle")
        self.shuffle.clicked.connect(self.reshuffle)
        self.status = plain_label()
        self.status.setWordWrap(False)
        form.addRow(self.shuffle, self.status)
        self.debounce = make_timer(self, 250, single_shot=True)
        self.debounce.timeout.connect(self.regenerate)
        self.flip_vert.toggled.connect(self.debounce.start)
        for box in (self.max_lighting, self.max_zoom, self.max_rotate, self.max_warp):
            box.valueChanged.connect(self.debounce.start)

        grid = QGridLayout()
        grid.setSpacing(4)
        self.tiles: list[QLabel] = []
        self.captions: list[QLabel] = []
        for i in range(TILES):
            tile = QLabel()
            tile.setFixedSize(160, 120)
            tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
            tile.setStyleSheet("background: #eee")
            caption = plain_label()
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cell = QVBoxLayout()
            cell.setSpacing(0)
            cell.addWidget(tile)
            cell.addWidget(caption)
            grid.addLayout(cell, i // 4, i % 4)
            self.tiles.append(tile)
            self.captions.append(caption)
        layout = QHBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(grid, 1)

    def augmentation(self) -> Augmentation:
        return Augmentation(
            flip_vert=self.flip_vert.isChecked(),
            max_lighting=self.max_lighting.value(),
            max_zoom=self.max_zoom.value(),
            max_rotate=self.max_rotate.value(),
            max_warp=self.max_warp.value(),
        )

    def initializePage(self) -> None:
        self.regenerate()

    def reshuffle(self) -> None:
        self.seed += 1
        self.regenerate()

    def regenerate(self) -> None:
        """Show a new preview with the current settings; one still being made is superseded."""
        self.run.config = replace(self.run.config, augmentation=self.augmentation())
        if self.run.scanned is None:
            return
        self.generation += 1
        self.status.setText("Making a batch…")
        self.runner.start(
            self.run.preview,
            self.seed,
            on_done=self._show,
            on_error=lambda error: self.status.setText(f"Preview failed: {describe_error(error)}"),
        )

    def _show(self, tiles) -> None:
        for label, caption, tile in zip(self.tiles, self.captions, tiles, strict=False):
            height, width, _ = tile.pixels.shape
            image = QImage(tile.pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
            label.setPixmap(QPixmap.fromImage(image).scaled(label.size(), Qt.AspectRatioMode.KeepAspectRatio))
            caption.setText(tile.label)
        self.status.setText(f"Batch {self.generation} (shuffle seed {self.seed})")

    def validatePage(self) -> bool:
        self.run.config = replace(self.run.config, augmentation=self.augmentation())
        return True

    def cleanupPage(self) -> None:
        self.runner.discard()
