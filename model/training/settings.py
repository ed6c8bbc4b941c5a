"""Training settings as plain data: importing this costs nothing (no torch, no fastai)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from model.images.preprocess import STAINED_CELL, InputPolicy
from model.images.symmetry import NONE, trained_symmetries
from model.networks.catalogue import ARCHITECTURES, architecture
from model.training import limits


@dataclass(frozen=True)
class Augmentation:
    """fastai `aug_transforms` settings (the defaults are the seed article's), plus colour
    changes another lab's stain and camera bring (model.training.stain; 0 turns each off)."""

    flip_vert: bool = True
    max_lighting: float = 0.1
    max_zoom: float = 1.05
    max_rotate: float = 10.0
    max_warp: float = 0.0
    # Below 1, zooms out too: another lab's magnification may show the cell smaller.
    min_zoom: float = 1.0
    # Stain re-mixing (HED jitter) strength, and fastai's hue and saturation ranges.
    stain: float = 0.0
    hue: float = 0.0
    saturation: float = 0.0
    # Random colour balance and contrast (model.training.stain.LabColourCast), in Lab units.
    colour_cast: float = 0.0
    # The share of training pictures given the colour changes above; the rest keep the colours
    # their lab gave them, so a colour cue that holds within a lab can still be learnt.
    colour_share: float = 1.0

    def transforms(self) -> list:
        from fastai.vision.augment import Hue, Saturation, aug_transforms

        from model.training.stain import ForAShareOfPictures, HedJitter, LabColourCast

        colour_settings = ("stain", "hue", "saturation", "colour_cast", "colour_share")
        geometric = {k: v for k, v in asdict(self).items() if k not in colour_settings}
        colour = []
        if self.stain > 0:
            colour.append(HedJitter(self.stain))
        if self.hue > 0:
            colour.append(Hue(max_hue=self.hue))
        if self.saturation > 0:
            colour.append(Saturation(max_lighting=self.saturation))
        if self.colour_cast > 0:
            colour.append(LabColourCast(self.colour_cast))
        if colour and self.colour_share < 1:
            colour = [ForAShareOfPictures(colour, self.colour_share)]
        return [*aug_transforms(**geometric), *colour]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Augmentation:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass
class TrainConfig:
    data: Path
    valid: Path | None = None
    # Further data folders (other labs) trained on with `data` (model.training.sources); validation is
    # then drawn within each, by cell, and sampling gives each (folder, class) the same weight.
    more_data: tuple[Path, ...] = ()
    balance_sources: bool = True
    # A share of every folder's images set aside by file name (model.training.holdout), never trained on.
    holdout_percent: int = 0
    valid_pct: float = 0.2
    # Draw the random validation share as whole cells (copies of one photographed cell,
    # found by model.images.near_duplicates, stay on one side), so its accuracy is not optimistic.
    split_by_cell: bool = False
    seed: int = 42
    # The seed of the validation split and of which copies are kept, when it differs from `seed`
    # (None: `seed`). Members of an ensemble trained with one split seed share their validation
    # cells, so the ensemble can be calibrated and judged on cells none of its members saw.
    split_seed: int | None = None
    arch: str = "seed-deep"
    weights_file: Path | None = None
    width: int = 128
    height: int = 128
    framing: str = STAINED_CELL
    augmentation: Augmentation = field(default_factory=Augmentation)
    batch_size: int = 64
    epochs: int = 20
    lr: float = 4e-3
    patience: int = 6
    # MixUp's Beta(alpha, alpha) blending of image pairs and their labels; 0 turns it off.
    mixup: float = 0.0
    # Train BatchNorm layers' scale and shift but keep their running statistics as they are
    # (ImageNet's, for a pretrained network), so one lab's colour statistics are not baked in.
    frozen_norm_statistics: bool = False
    # Train on at most this many copies of each photographed cell (0: all). Augmented data sets
    # hold dozens of copies per cell; a few, with online augmentation, teach the same for less.
    max_copies_per_cell: int = 0
    device: str = "auto"
    mixed_precision: bool = True
    # Classify by averaging the symmetric views training augmentation covered (model.images.symmetry).
    test_time_augmentation: bool = True
    num_workers: int = 0

    def problems(self) -> list[str]:
        """Settings that cannot train a model, in plain words; empty when all can."""

        def finite(value) -> bool:
            return isinstance(value, (int, float)) and math.isfinite(value)

        checked = [
            (limits.LEARNING_RATE, self.lr),
            (limits.EPOCHS, self.epochs),
            (limits.BATCH_SIZE, self.batch_size),
            (limits.PATIENCE, self.patience),
            (limits.MIXUP, self.mixup),
            (limits.INPUT_SIDE, self.width),
            (limits.INPUT_SIDE, self.height),
            (limits.HOLDOUT_PERCENT, self.holdout_percent),
            (limits.COPIES_PER_CELL, self.max_copies_per_cell),
        ]
        if self.valid is None:
            checked.append((limits.VALID_SHARE, self.valid_pct))
        problems = [problem for limit, value in checked if (problem := limit.problem(value))]
        if self.more_data and self.valid is not None:
            problems.append("with several data folders, validation is drawn from each: give no validation folder")
        augmentation = self.augmentation
        numbers = [v for v in asdict(augmentation).values() if not isinstance(v, bool)]
        if (
            not all(finite(v) and v >= 0 for v in numbers)
            or augmentation.min_zoom > augmentation.max_zoom
            or augmentation.colour_share > 1
        ):
            problems.append(f"the augmentation settings are out of range ({augmentation.to_json()})")
        if self.arch not in ARCHITECTURES:
            problems.append(f"unknown architecture {self.arch!r}; choose one of {', '.join(ARCHITECTURES)}")
        return problems

    @property
    def validation_by_cell(self) -> bool:
        """Validation is drawn as whole cells, so no validation image has a copy in training."""
        return (self.split_by_cell or self.uses_sources) and self.valid is None

    @property
    def test_time_views(self) -> str:
        if not self.test_time_augmentation:
            return NONE
        return trained_symmetries(self.augmentation.flip_vert, self.width, self.height)

    @property
    def data_split_seed(self) -> int:
        return self.seed if self.split_seed is None else self.split_seed

    @property
    def sources(self) -> tuple[Path, ...]:
        return (Path(self.data), *(Path(p) for p in self.more_data))

    @property
    def uses_sources(self) -> bool:
        """Trained as sources (model.training.sources): several folders, or a held-out share."""
        return bool(self.more_data) or self.holdout_percent > 0

    @property
    def needs_cell_groups(self) -> bool:
        return self.validation_by_cell or self.max_copies_per_cell > 0 or self.uses_sources

    @property
    def policy(self) -> InputPolicy:
        network = ARCHITECTURES.get(self.arch) or architecture("seed-deep")
        return InputPolicy(
            width=self.width, height=self.height, framing=self.framing, mean=network.mean, std=network.std
        )

    @classmethod
    def from_json(cls, data: dict) -> TrainConfig:
        """Settings as a model file records them (`training.settings`); unknown keys ignored,
        missing ones at their defaults (files from older versions)."""
        known = {name for name in cls.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in known}
        for key in ("data", "valid", "weights_file"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        values["more_data"] = tuple(Path(p) for p in values.get("more_data", ()))
        values["augmentation"] = Augmentation.from_json(values.get("augmentation") or {})
        return cls(**values)

    def to_json(self) -> dict:
        data = asdict(self)
        data["augmentation"] = self.augmentation.to_json()
        data["more_data"] = [str(p) for p in self.more_data]
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}
