"""Wizard page 3: architecture and training settings, with fastai's learning-rate finder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from bloodcell_gui.charts import LineChart
from bloodcell_gui.style import plain_label
from bloodcell_gui.wizard.widgets import check_box, folder_row, int_spin, limited_spin
from bloodcell_gui.workers import TaskRunner, describe_error
from model.images.preprocess import FRAMINGS, InputPolicy
from model.networks.catalogue import ARCHITECTURES
from model.training import limits
from model.training.run import TrainingRun
from model.training.settings import TrainConfig


class SettingsPage(QWizardPage):
    def __init__(self, run: TrainingRun, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Model and settings")
        self.setSubTitle(
            "The defaults train quickly on one lab's pictures. The shipped default model is two "
            "per-picture networks, trained with strong colour changes for half the pictures (README)."
        )
        self.run = run
        self.lr_runner = TaskRunner(self)
        self.devices_runner = TaskRunner(self)
        defaults = TrainConfig(data=Path("."))
        self.arch = QComboBox()
        for key, architecture in ARCHITECTURES.items():
            self.arch.addItem(architecture.label, key)
        self.arch.setCurrentIndex(list(ARCHITECTURES).index(defaults.arch))
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("optional, ResNets only: a torchvision .pth or .safetensors file")
        self.weights_row = folder_row(self.weights, self._browse_weights)
        self.arch.currentIndexChanged.connect(self._arch_changed)
        self.width_box = limited_spin(limits.INPUT_SIDE, defaults.width, 16)
        self.height_box = limited_spin(limits.INPUT_SIDE, defaults.height, 16)
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
        self.batch_size = limited_spin(limits.BATCH_SIZE, defaults.batch_size, 8)
        self.epochs = limited_spin(limits.EPOCHS, defaults.epochs)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(limits.LEARNING_RATE.low, limits.LEARNING_RATE.high)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(defaults.lr)
        self.find_lr = QPushButton("Find learning rate")
        self.find_lr.clicked.connect(self.run_lr_find)
        lr_row = QWidget()
        lr_layout = QHBoxLayout(lr_row)
        lr_layout.setContentsMargins(0, 0, 0, 0)
        lr_layout.addWidget(self.lr)
        lr_layout.addWidget(self.find_lr)
        self.patience = limited_spin(limits.PATIENCE, defaults.patience)
        self.patience.setToolTip("Stop when the validation loss has not improved for this many epochs (0: never)")
        self.mixup = QDoubleSpinBox()
        self.mixup.setRange(limits.MIXUP.low, limits.MIXUP.high)
        self.mixup.setSingleStep(0.1)
        self.mixup.setValue(defaults.mixup)
        self.mixup.setSpecialValueText("off")
        self.mixup.setToolTip(
            "Train on blends of two images with correspondingly blended labels (fastai MixUp); the value is "
            "the Beta distribution's alpha, 0.2 to 0.4 is usual. Discourages memorising individual cells."
        )
        self.valid_pct = int_spin(
            round(limits.VALID_SHARE.low * 100), round(limits.VALID_SHARE.high * 100), int(defaults.valid_pct * 100)
        )
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
        self.lr_status = plain_label()
        right = QVBoxLayout()
        right.addWidget(self.lr_chart, 1)
        right.addWidget(self.lr_status)
        layout = QHBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(right, 1)
        self._arch_changed()
        # The augmentation preview shows the input these choose, so the run learns of them at once.
        self.width_box.valueChanged.connect(self.publish)
        self.height_box.valueChanged.connect(self.publish)
        self.framing.currentIndexChanged.connect(self.publish)
        self.arch.currentIndexChanged.connect(self.publish)

    def initializePage(self) -> None:
        from model.common.task import imported_task

        if self.device.count() == 0:
            self.device.addItem("Automatic (a GPU if there is one)", "auto")
            # Listing GPUs imports torch: on a worker, as the window may not have loaded it.
            self.devices_runner.start(
                imported_task("model.inference.devices", "device_choices"),
                on_done=self._list_devices,
                on_error=self._devices_not_listed,
            )
        random_split = self.run.config.valid is None
        self.valid_pct.setEnabled(random_split)
        self.split_by_cell.setEnabled(random_split)

    def _list_devices(self, devices: list[tuple[str, str]]) -> None:
        for key, label in devices:
            self.device.addItem(label, key)

    def _devices_not_listed(self, error: BaseException) -> None:
        # Automatic stays chosen and still trains (on the CPU when torch finds no GPU); the
        # technician learns why no device is listed instead of seeing a short list.
        self.device.addItem("CPU", "cpu")
        self.device.setToolTip(f"The GPUs could not be listed: {describe_error(error)}")
        self.device.setItemText(0, "Automatic (the GPUs could not be listed)")

    def _arch_changed(self) -> None:
        self.weights_row.setEnabled(ARCHITECTURES[str(self.arch.currentData())].takes_weights_file)

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Initial weights", "", "Weights (*.pth *.pt *.safetensors)")
        if path:
            self.weights.setText(path)

    def policy(self) -> InputPolicy:
        """What the network will see; the augmentation preview shows it."""
        return self.config().policy

    def publish(self) -> None:
        """Make these settings the run's (the augmentation preview and training read them there)."""
        self.run.config = self.config()

    def validatePage(self) -> bool:
        self.publish()
        return True

    def config(self) -> TrainConfig:
        """The run's data and augmentation with this page's settings."""
        weights = self.weights.text().strip()
        return replace(
            self.run.config,
            valid_pct=self.valid_pct.value() / 100,
            split_by_cell=self.split_by_cell.isChecked() and self.split_by_cell.isEnabled(),
            seed=self.seed.value(),
            arch=str(self.arch.currentData()),
            weights_file=Path(weights) if weights and self.weights_row.isEnabled() else None,
            width=self.width_box.value(),
            height=self.height_box.value(),
            framing=str(self.framing.currentData()),
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
        if self.lr_runner.running or self.run.scanned is None:
            return
        self.publish()
        self.find_lr.setEnabled(False)
        self.lr_status.setText("Trying learning rates on a few batches…")
        self.lr_chart.clear()
        self.lr_runner.start(
            self.run.find_learning_rate,
            on_done=self._lr_found,
            on_error=lambda error: self.lr_status.setText(f"The finder failed: {describe_error(error)}"),
            on_finished=lambda: self.find_lr.setEnabled(True),
        )

    def _lr_found(self, found) -> None:
        rates, losses, suggestion = found
        self.lr_chart.set_points("loss", list(zip(rates, losses, strict=True)))
        self.lr_chart.marker_x = suggestion
        self.lr.setValue(suggestion)
        self.lr_status.setText(f"Suggested (fastai 'valley'): {suggestion:.2e}, applied.")

    def cleanupPage(self) -> None:
        self.lr_runner.discard()
