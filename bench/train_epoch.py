"""One training epoch of BloodCell's engine against the plain seed pipeline.

The baseline is the article's fastai script: DataBlock(ImageBlock, CategoryBlock) over
get_image_files, parent_label, RandomSplitter(0.2, seed 42), Resize, aug_transforms +
Normalize, a Learner with the seed CNN, fit_one_cycle. Both see the same files, network,
input size and batch size, and by default the same whole-image framing (`--framing cell`
adds the engine's cell centring); only the epoch itself is timed. Target: ratio <= 1.05x.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench._common import image_files, parser, report

CLASSES = ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"]


def subset(train: Path, per_class: int, folder: Path) -> Path:
    for name in CLASSES:
        (folder / name).mkdir(parents=True)
        for file in image_files(train / name)[:per_class]:
            (folder / name / file.name).symlink_to(file)
    return folder


def plain_epoch(data: Path, width: int, height: int, batch_size: int) -> float:
    from fastai.vision.all import (
        CategoryBlock,
        CrossEntropyLossFlat,
        DataBlock,
        ImageBlock,
        Learner,
        Normalize,
        RandomSplitter,
        Resize,
        accuracy,
        aug_transforms,
        get_image_files,
        imagenet_stats,
        parent_label,
        set_seed,
    )

    from model.networks.build import seed_cnn

    set_seed(42, reproducible=True)
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock),
        get_items=get_image_files,
        splitter=RandomSplitter(valid_pct=0.2, seed=42),
        get_y=parent_label,
        item_tfms=Resize((height, width)),
        batch_tfms=[
            *aug_transforms(flip_vert=True, max_lighting=0.1, max_zoom=1.05, max_warp=0.0),
            Normalize.from_stats(*imagenet_stats),
        ],
    )
    dls = block.dataloaders(data, bs=batch_size, num_workers=0)
    learn = Learner(dls, seed_cnn(len(dls.vocab)), loss_func=CrossEntropyLossFlat(), metrics=accuracy)
    with learn.no_bar(), learn.no_logging():
        started = time.perf_counter()
        learn.fit_one_cycle(1, 3e-3)
        return time.perf_counter() - started


def engine_epoch(data: Path, width: int, height: int, batch_size: int, framing: str) -> float:
    from model.common.events import EpochEnd, ScanProgress
    from model.training.settings import Augmentation, TrainConfig
    from model.training.train import fit

    marks: dict[str, float] = {}

    def on_event(event) -> None:
        if isinstance(event, ScanProgress) and event.done == event.total:
            marks["scanned"] = time.perf_counter()
        elif isinstance(event, EpochEnd):
            marks["epoch"] = time.perf_counter()

    config = TrainConfig(
        data=data,
        arch="seed",
        width=width,
        height=height,
        framing=framing,
        batch_size=batch_size,
        epochs=1,
        lr=3e-3,
        patience=0,
        device="auto",
        augmentation=Augmentation(),
        num_workers=0,
    )
    fit(config, on_event=on_event)
    return marks["epoch"] - marks["scanned"]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--per-class", type=int, default=500, help="images per class (default 500)")
    p.add_argument("--size", default="160x120")
    p.add_argument("--bs", type=int, default=64)
    p.add_argument(
        "--framing",
        default="whole",
        choices=["whole", "cell"],
        help="the engine's framing; 'whole' does what the plain script does, 'cell' adds locating the cell",
    )
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as scratch:
        data = subset(args.data / "TRAIN", args.per_class, Path(scratch) / "train")
        print(f"{4 * args.per_class} images, seed CNN at {width}x{height}, batch size {args.bs}")
        plain_epoch(data, width, height, args.bs)  # warm-up: file cache, kernels
        plain = plain_epoch(data, width, height, args.bs)
        ours = engine_epoch(data, width, height, args.bs, args.framing)
        report("plain fastai seed pipeline, one epoch", plain, "s")
        report("BloodCell engine, one epoch (incl. its DataLoaders)", ours, "s")
        print(f"ratio engine / plain   {ours / plain:6.3f}x   (target <= 1.05x)")


if __name__ == "__main__":
    main()
