"""`bloodcell classify`'s engine on TEST against fastai's ways of predicting, same model, same files.

Prints images/s for: a loop of fastai `learn.predict`, fastai `get_preds` on a test DataLoader,
the model's forward pass alone on random tensors (the compute limit), and BloodCell's streaming
classifier; then the ratios. On CPU the target is >= 0.9x forward-alone; on a GPU >= 4x get_preds.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from _common import image_files, parser, report, timed


def fastai_learner(loaded, files):
    """A fastai Learner around the same network with the same preprocessing as training."""
    from fastai.vision.all import CategoryBlock, CrossEntropyLossFlat, DataBlock, ImageBlock, Learner, Normalize

    from model.data import FitToInput, LabelledImage, item_image, item_label

    policy = loaded.info.policy
    classes = loaded.info.classes
    items = [LabelledImage(f, classes[i % len(classes)]) for i, f in enumerate(files[:8])]
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=loaded.info.classes)),
        get_x=item_image,
        get_y=item_label,
        item_tfms=FitToInput(policy),
        batch_tfms=Normalize.from_stats(policy.mean, policy.std),
    )
    dls = block.dataloaders(items, bs=64, device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    return Learner(dls, loaded.module, loss_func=CrossEntropyLossFlat())


def untrained_model(arch: str, size: str, folder: Path) -> Path:
    """A model file with random weights: throughput does not depend on what was learnt."""
    from model.arch import build_model
    from model.modelfile import ModelInfo, save
    from model.preprocess import InputPolicy

    width, height = (int(v) for v in size.split("x"))
    classes = ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"]
    info = ModelInfo(arch=arch, classes=classes, policy=InputPolicy(width, height), name=f"untrained {arch}")
    return save(folder / f"{arch}-{size}.safetensors", build_model(arch, 4), info)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--untrained", metavar="ARCH@WxH", help="measure an untrained ARCH at WxH, e.g. seed@320x240")
    args = p.parse_args()
    if args.untrained:
        arch, size = args.untrained.split("@")
        args.model = untrained_model(arch, size, Path(tempfile.mkdtemp()))
    from model.infer import Classifier
    from model.modelfile import load

    files = image_files(args.data / "TEST")
    loaded = load(args.model)
    classifier = Classifier(load(args.model))
    device = classifier.device
    print(
        f"{len(files)} images, model {args.model.name} ({loaded.info.arch}, "
        f"{loaded.info.policy.width}x{loaded.info.policy.height}), device {device}, "
        f"torch threads {torch.get_num_threads()}"
    )

    def ours():
        assert sum(1 for r in classifier.classify(files) if r.ok) == len(files)

    ours()  # warm-up: caches, allocator, oneDNN kernels
    ours_rate = len(files) / timed(ours, repeat=3)

    batch = torch.randn(64, 3, loaded.info.policy.height, loaded.info.policy.width, device=device)
    batch = batch.contiguous(memory_format=torch.channels_last)
    if device.type == "cuda":
        batch = batch.half()

    @torch.inference_mode()
    def forward():
        for _ in range(len(files) // 64):
            classifier.module(batch)
        if device.type == "cuda":
            torch.cuda.synchronize()

    forward()
    forward_rate = (len(files) // 64) * 64 / timed(forward, repeat=3)

    learn = fastai_learner(load(args.model), files)
    with learn.no_bar(), learn.no_logging():
        test_dl = learn.dls.test_dl(files)
        get_preds_rate = len(files) / timed(lambda: learn.get_preds(dl=test_dl))
        sample = files[: min(len(files), 600)]
        predict_rate = len(sample) / timed(lambda: [learn.predict(f) for f in sample])

    report("fastai learn.predict loop", predict_rate, "img/s")
    report("fastai get_preds", get_preds_rate, "img/s")
    report("forward pass alone (random tensors)", forward_rate, "img/s")
    report("BloodCell classify (decode+resize+forward)", ours_rate, "img/s")
    print(f"ratio BloodCell / learn.predict   {ours_rate / predict_rate:6.2f}x")
    print(f"ratio BloodCell / get_preds       {ours_rate / get_preds_rate:6.2f}x")
    print(f"ratio BloodCell / forward alone   {ours_rate / forward_rate:6.2f}x   (CPU target >= 0.9x)")


if __name__ == "__main__":
    main()
