"""`bloodcell classify`'s engine on TEST against fastai's ways of predicting, same model, same files.

Prints images/s for: a loop of fastai `learn.predict`, fastai `get_preds` on a test DataLoader,
the model's forward pass alone on random tensors (the compute limit), and BloodCell's streaming
classifier; then the ratios. On CPU the target is >= 0.9x forward-alone; on a GPU >= 4x get_preds.

fastai runs one view of each image, so the comparisons with it use BloodCell with one view too;
a model that averages several views (test-time augmentation, model.images.symmetry) is then measured
as shipped, against its own forward passes.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bench._common import image_files, parser, report, timed


def fastai_learner(loaded, files):
    """A fastai Learner around the same network with the same preprocessing as training."""
    from fastai.vision.all import CategoryBlock, CrossEntropyLossFlat, DataBlock, ImageBlock, Learner, Normalize

    from model.training.data import FitToInput, LabelledImage, item_image, item_label

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


def member_models(loaded):
    """Each network of an ensemble as a model of its own."""
    from model.modelfile.torch_file import LoadedModel

    networks = zip(loaded.module, loaded.info.members, strict=True)
    return [LoadedModel(module, info, loaded.path) for module, info in networks]


def one_view(loaded):
    """The same model classifying one view of each image, as fastai does."""
    from model.images.symmetry import NONE
    from model.modelfile.torch_file import LoadedModel

    info = loaded.info
    if info.is_ensemble:
        info = replace(info, members=[replace(m, test_time_views=NONE) for m in info.members])
    else:
        info = replace(info, test_time_views=NONE)
    return LoadedModel(loaded.module, info, loaded.path)


def untrained_model(arch: str, size: str, folder: Path) -> Path:
    """A model file with random weights: throughput does not depend on what was learnt."""
    from model.images.preprocess import InputPolicy
    from model.modelfile.torch_file import ModelInfo, save
    from model.networks.build import build_model

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
    from model.images.symmetry import NONE, VIEW_SETS
    from model.inference.classifier import Classifier
    from model.modelfile.opening import open_classifier
    from model.modelfile.torch_file import load

    files = image_files(args.data / "TEST")
    loaded = load(args.model)
    shipped = open_classifier(loaded)
    classifier = open_classifier(one_view(loaded))
    device = classifier.device
    networks = "; ".join(
        f"{n.arch} {n.policy.width}x{n.policy.height} {n.policy.framing}, {VIEW_SETS[n.test_time_views]}"
        for n in loaded.info.networks
    )
    print(
        f"{len(files)} images, model {args.model.name} ({networks}), device {device}, threads {torch.get_num_threads()}"
    )

    def classify_rate(engine: Classifier) -> float:
        def run():
            assert sum(1 for r in engine.classify(files) if r.ok) == len(files)

        run()  # warm-up: caches, allocator, oneDNN kernels
        return len(files) / timed(run, repeat=3)

    def forward_rate(engine: Classifier) -> float:
        """Normalisation and the networks' forward passes on random prepared inputs."""
        rng = np.random.default_rng(0)
        batches = [rng.integers(0, 256, (64, p.height, p.width, 3), dtype=np.uint8) for p in engine.policies]

        def forward():
            for _ in range(len(files) // 64):
                engine.probabilities(batches)

        forward()
        return (len(files) // 64) * 64 / timed(forward, repeat=3)

    ours_rate = classify_rate(classifier)
    one_view_forward_rate = forward_rate(classifier)

    report("forward passes alone (random inputs), one view", one_view_forward_rate, "img/s")
    report("BloodCell classify, one view", ours_rate, "img/s")
    print(f"ratio BloodCell / forward alone   {ours_rate / one_view_forward_rate:6.2f}x   (CPU target >= 0.9x)")
    # fastai has no ensemble file: its way is one Learner per network, each run over the files.
    members = member_models(loaded) if loaded.info.is_ensemble else [loaded]
    learners = [fastai_learner(member, files) for member in members]
    sample = files[:600]

    def get_preds_all() -> None:
        for learn in learners:
            learn.get_preds(dl=learn.dls.test_dl(files))

    def predict_all() -> None:
        for learn in learners:
            for f in sample:
                learn.predict(f)

    with ExitStack() as stack:
        for learn in learners:
            stack.enter_context(learn.no_bar())
            stack.enter_context(learn.no_logging())
        get_preds_rate = len(files) / timed(get_preds_all)
        predict_rate = len(sample) / timed(predict_all)
    what = "" if len(learners) == 1 else f", {len(learners)} learners"
    report(f"fastai learn.predict loop{what}", predict_rate, "img/s")
    report(f"fastai get_preds{what}", get_preds_rate, "img/s")
    print(f"ratio BloodCell / learn.predict   {ours_rate / predict_rate:6.2f}x")
    print(f"ratio BloodCell / get_preds       {ours_rate / get_preds_rate:6.2f}x")
    if any(n.test_time_views != NONE for n in loaded.info.networks):
        shipped_rate, shipped_forward_rate = classify_rate(shipped), forward_rate(shipped)
        report("forward passes alone, as shipped", shipped_forward_rate, "img/s")
        report("BloodCell classify as shipped", shipped_rate, "img/s")
        print(f"ratio as shipped / forward alone  {shipped_rate / shipped_forward_rate:6.2f}x")
        print(f"ratio as shipped / learn.predict  {shipped_rate / predict_rate:6.2f}x   (fastai: one view)")


if __name__ == "__main__":
    main()
