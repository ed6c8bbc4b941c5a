"""Wizard page 3: architecture and training settings, with fastai's learning-rate finder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from bloodcell_gui.charts import LineChart
from bloodcell_gui.wizard.data_page import folder_row
from bloodcell_gui.wizard.tasks import find_learning_rate
from bloodcell_gui.workers import Worker
from model.config import TrainConfig
from model.preprocess import FRAMINGS, InputPolicy

ARCHITECTURES = {
    "seed-deep": "Seed CNN, four sets (default; fast on a CPU)",
    "seed": "Seed CNN, three sets (the original article's)",
    "resnet18": "ResNet-18 (needs a GPU to train in reasonable time)",
    "resnet34": "ResNet-34 (needs a GPU)",
}


def int_spin(minimum: int, maximum: int, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def check_box(text: str, checked: bool, tooltip: str = "") -> QCheckBox:
    box = QCheckBox(text)
    box.setChecked(checked)
    box.setToolTip(tooltip)
    return box


class SettingsPage(QWizardPage):
    def __init__(self, data_page, augment_page, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Model and settings")
        self.setSubTitle("The defaults train like the first of the two networks in the shipped default model.")
        self.data_page = data_page
        self.augment_page = augment_page
        self.lr_worker: Worker | None = None
        defaults = TrainConfig(data=Path("."))
        self.arch = QComboBox()
        for key, label in ARCHITECTURES.items():
            self.arch.addItem(label, key)
        self.arch.setCurrentIndex(list(ARCHITECTURES).index(defaults.arch))
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("optional, ResNets only: a torchvision .pth or .safetensors file")
        self.weights_row = folder_row(self.weights, self._browse_weights)
        self.arch.currentIndexChanged.connect(self._arch_changed)
        self.width_box = int_spin(32, 1024, defaults.width, 16)
        self.height_box = int_spin(32, 1024, defaults.height, 16)
        size_row = QWidget()
        size_layout = QHBoxLayout(size_row)
        size_layout.setContentsMargins(0, 0, 0, 0)
        size_layout.addWidget(self.width_box)
        size_layout.addWidget(QLabel("×"))
        size_layout.addWidget(self.height_box)
        size_layout.addWidget(QLabel("pixels"))
        self.framing = QComboBox()
        for key, label in FRAMINGS.items():
            self.framing.addItem(label, key)
        self.framing.setCurrentIndex(list(FRAMINGS).index(defaults.framing))
        self.framing.setToolTip(
            "Centring on the stained cell cuts a window around the leukocyte before scaling, "
            "so the network sees the cell at close to full resolution and little of the red cells around it."
        )
        self.batch_size = int_spin(1, 1024, defaults.batch_size, 8)
        self.epochs = int_spin(1, 500, defaults.epochs)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(defaults.lr)
        self.find_lr = QPushButton("Find learning rate")
        self.find_lr.clicked.connect(self.run_lr_find)
        lr_row = QWidget()
        lr_layout = QHBoxLayout(lr_row)
        lr_layout.setContentsMargins(0, 0, 0, 0)
        lr_layout.addWidget(self.lr)
        lr_layout.addWidget(self.find_lr)
        self.patience = int_spin(0, 100, defaults.patience)
        self.patience.setToolTip("Stop when the validation loss has not improved for this many epochs (0: never)")
        self.mixup = QDoubleSpinBox()
        self.mixup.setRange(0.0, 2.0)
        self.mixup.setSingleStep(0.1)
        self.mixup.setValue(defaults.mixup)
        self.mixup.setSpecialValueText("off")
        self.mixup.setToolTip(
            "Train on blends of two images with correspondingly blended labels (fastai MixUp); the value is "
            "the Beta distribution's alpha, 0.2 to 0.4 is usual. Discourages memorising individual cells."
        )
        self.valid_pct = int_spin(5, 50, int(defaults.valid_pct * 100))
        self.valid_pct.setSuffix(" %")
        self.split_by_cell = check_box(
            "Keep copies of one cell together (split by cell)",
            defaults.split_by_cell,
            "Augmented data sets hold many rotated or shifted copies of each cell. A plain random split puts "
            "copies of one cell on both sides, so validation accuracy looks better than it is. This finds the "
            "copies first (a minute or two for 10,000 images) and draws whole cells.",
        )
        self.test_time_augmentation = check_box(
            "Classify by averaging rotated views (more accurate, 4x the compute)",
            defaults.test_time_augmentation,
            "A cell has no up or down, so the model is trained on flipped and turned copies. Averaging its "
            "answers for the 4 quarter turns of each image (the 4 flips for non-square inputs) corrects many "
            "of its borderline mistakes; classifying takes about 4 times as long.",
        )
        self.seed = int_spin(0, 2**31 - 1, defaults.seed)
        self.device = QComboBox()
        self.mixed_precision = check_box("Mixed precision on a GPU (faster, less memory)", defaults.mixed_precision)
        form = QFormLayout()
        form.addRow("Architecture", self.arch)
        form.addRow("Initial weights", self.weights_row)
        form.addRow("Input size", size_row)
        form.addRow("Framing", self.framing)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", lr_row)
        form.addRow("Early-stopping patience", self.patience)
        form.addRow("MixUp", self.mixup)
        form.addRow("Validation share", self.valid_pct)
        form.addRow(self.split_by_cell)
        form.addRow(self.test_time_augmentation)
        form.addRow("Random seed", self.seed)
        form.addRow("Device", self.device)
        form.addRow(self.mixed_precision)
        self.lr_chart = LineChart("Learning-rate finder", "learning rate", log_x=True)
        self.lr_chart.add_series("loss", "#0072B2")
        self.lr_status = QLabel()
        right = QVBoxLayout()
        right.addWidget(self.lr_chart, 1)
        right.addWidget(self.lr_status)
        layout = QHBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(right, 1)
        self._arch_changed()

    def initializePage(self) -> None:
        from model.devices import available_devices

        if self.device.count() == 0:
            self.device.addItem("Automatic (a GPU if there is one)", "auto")
            for key, label in available_devices():
                self.device.addItem(label, key)
        self.valid_pct.setEnabled(self.data_page.random_split)
        self.split_by_cell.setEnabled(self.data_page.random_split)

    def _arch_changed(self) -> None:
        self.weights_row.setEnabled(str(self.arch.currentData()).startswith("resnet"))

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Initial weights", "", "Weights (*.pth *.pt *.safetensors)")
        if path:
            self.weights.setText(path)

    def policy(self) -> InputPolicy:
        """What the network will see; the augmentation preview shows it."""
        return InputPolicy(self.width_box.value(), self.height_box.value(), framing=str(self.framing.currentData()))

    def config(self) -> TrainConfig:
        weights = self.weights.text().strip()
        return TrainConfig(
            data=self.data_page.folder(self.data_page.train_edit),
            valid=self.data_page.folder(self.data_page.valid_edit),
            valid_pct=self.valid_pct.value() / 100,
            split_by_cell=self.split_by_cell.isChecked() and self.split_by_cell.isEnabled(),
            seed=self.seed.value(),
            arch=str(self.arch.currentData()),
            weights_file=Path(weights) if weights and self.weights_row.isEnabled() else None,
            width=self.width_box.value(),
            height=self.height_box.value(),
            framing=str(self.framing.currentData()),
            augmentation=self.augment_page.augmentation(),
            batch_size=self.batch_size.value(),
            epochs=self.epochs.value(),
            lr=self.lr.value(),
            patience=self.patience.value(),
            mixup=self.mixup.value(),
            device=str(self.device.currentData() or "auto"),
            mixed_precision=self.mixed_precision.isChecked(),
            test_time_augmentation=self.test_time_augmentation.isChecked(),
        )

    def run_lr_find(self) -> None:
        if self.lr_worker is not None or self.data_page.scanned is None:
            return
        self.find_lr.setEnabled(False)
        self.lr_status.setText("Trying learning rates on a few batches…")
        self.lr_chart.clear()
        worker = Worker(find_learning_rate, self.config(), self.data_page.scanned, parent=self)
        worker.succeeded.connect(self._lr_found)
        worker.failed.connect(lambda message: self.lr_status.setText(f"The finder failed: {message}"))
        worker.finished.connect(self._lr_done)
        self.lr_worker = worker.start()

    def _lr_found(self, found) -> None:
        rates, losses, suggestion = found
        self.lr_chart.set_points("loss", list(zip(rates, losses, strict=True)))
        self.lr_chart.marker_x = suggestion
        self.lr.setValue(suggestion)
        self.lr_status.setText(f"Suggested (fastai 'valley'): {suggestion:.2e}, applied.")

    def _lr_done(self) -> None:
        self.lr_worker = None
        self.find_lr.setEnabled(True)

    def cleanupPage(self) -> None:
        if self.lr_worker is not None:
            self.lr_worker.cancel()
