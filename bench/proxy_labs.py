"""Proxy labs: how a model does in labs nobody here has pictures of, measured without anyone's help.

Each proxy turns held-out pictures of the two labs here (pbc's held-out 20 %, by name; and
blood-cells TEST) into what another lab's camera, stain or microscope would give:

- magnification x0.4 to x2.5 (the cell cropped tighter or looser, the frame's size kept; below 1
  the picture is framed by its smear's background colour);
- background tints (a yellowish rapid stain, blue-grey), gamma, saturation, blur, JPEG quality;
- and combinations of them.

Each proxy x lab is classified as one batch, end to end, with the app's own rules
(model.review.session.ReviewSession: the review threshold, the Unidentified bin, the batch-level
"new lab" judgement that sends every image to review). One table, per proxy and lab: balanced
accuracy, the share flagged unfamiliar, the share accepted without review and how many of those
are right (the safety net's promise: at least 97 %).

    python -m bench.proxy_labs [--model M] [--per-class 60] [--proxies x0.5 tint-yellow ...] [--json out.json]

Nothing is trained or changed. Leave-one-lab-out needs models trained without a lab:
`research/leave_one_lab_out.py` trains them; pass them with --model.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from bench._common import parser
from model.training.holdout import is_held_out
from tools.dev_data import BLOOD_CELLS, PBC

CLASSES = ("EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL")
Transform = Callable[[Image.Image], Image.Image]


def magnified(image: Image.Image, factor: float) -> Image.Image:
    """`image` as a lab at `factor` times the magnification would frame it, the same size."""
    width, height = image.size
    scaled = image.resize((max(1, round(width * factor)), max(1, round(height * factor))), Image.Resampling.LANCZOS)
    if factor >= 1:
        left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
        return scaled.crop((left, top, left + width, top + height))
    # Around it, the smear's background (the median of the picture's border): a mirror would
    # repeat the leukocyte in every corner, which no camera shows.
    pixels = np.asarray(image)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    frame = Image.new("RGB", (width, height), tuple(int(v) for v in np.median(border, axis=0)))
    frame.paste(scaled, ((width - scaled.width) // 2, (height - scaled.height) // 2))
    return frame


def tinted(image: Image.Image, gains: tuple[float, float, float]) -> Image.Image:
    """Another white balance: each channel scaled (the background takes the tint)."""
    pixels = np.asarray(image, dtype=np.float32) * np.array(gains, dtype=np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def gamma(image: Image.Image, value: float) -> Image.Image:
    pixels = (np.asarray(image, dtype=np.float32) / 255) ** value
    return Image.fromarray(np.clip(pixels * 255, 0, 255).astype(np.uint8))


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def chain(*steps: Transform) -> Transform:
    def apply(image: Image.Image) -> Image.Image:
        for step in steps:
            image = step(image)
        return image

    return apply


PROXIES: dict[str, Transform] = {
    "as is": lambda image: image,
    **{f"x{f}": (lambda image, f=f: magnified(image, f)) for f in (0.4, 0.5, 0.67, 0.8, 1.25, 1.5, 2.0, 2.5)},
    "tint-yellow": lambda image: tinted(image, (1.0, 0.95, 0.7)),
    "tint-blue-grey": lambda image: tinted(image, (0.85, 0.92, 1.0)),
    "gamma-0.7": lambda image: gamma(image, 0.7),
    "gamma-1.4": lambda image: gamma(image, 1.4),
    "saturation-0.6": lambda image: ImageEnhance.Color(image).enhance(0.6),
    "saturation-1.5": lambda image: ImageEnhance.Color(image).enhance(1.5),
    "blur-1.5": lambda image: image.filter(ImageFilter.GaussianBlur(1.5)),
    "jpeg-40": lambda image: jpeg(image, 40),
    "x1.5+tint-yellow": chain(lambda image: magnified(image, 1.5), lambda image: tinted(image, (1.0, 0.95, 0.7))),
    "x0.67+gamma-1.4+jpeg-60": chain(
        lambda image: magnified(image, 0.67), lambda image: gamma(image, 1.4), lambda image: jpeg(image, 60)
    ),
}


def held_out_pictures(per_class: int) -> dict[str, list[tuple[Path, str]]]:
    """Each lab's pictures no model here trained on, `per_class` of each class (evenly spread)."""
    labs = {
        "pbc held-out": [(p, p.parent.name) for p in sorted(PBC.glob("*/*.jpeg")) if is_held_out(p)],
        "blood-cells TEST": [(p, p.parent.name) for p in sorted((BLOOD_CELLS / "TEST").glob("*/*.jpeg"))],
    }
    chosen = {}
    for lab, pictures in labs.items():
        chosen[lab] = []
        for name in CLASSES:
            members = [item for item in pictures if item[1] == name]
            step = max(1, len(members) // per_class)
            chosen[lab] += members[::step][:per_class]
    return chosen


def measure(
    classifier, pictures: list[tuple[Path, str]], transform: Transform, scratch: Path, normalise: bool = False
) -> dict:
    """One proxy batch, classified and judged as the app judges a session; with `normalise`,
    framed at the batch's own magnification (model.images.magnification)."""
    from model.evaluation.evaluate import Evaluation
    from model.images.magnification import batch_magnification, policy_at, stain_scale
    from model.review.session import ACCEPTED, UNIDENTIFIED, ImageRow, ReviewSession

    classes = classifier.classes
    paths, scales = [], []
    for index, (path, label) in enumerate(pictures):
        target = scratch / f"{index:05d}-{label}.png"
        picture = transform(Image.open(path).convert("RGB"))
        picture.save(target)
        paths.append(target)
        scales.append(stain_scale(picture) if normalise else None)
    magnification = batch_magnification(scales) if normalise else None
    original = list(classifier.policies)
    classifier.policies = [policy_at(policy, magnification) for policy in original]
    truth = {path: classes.index(label) for path, (_, label) in zip(paths, pictures, strict=True)}
    session = ReviewSession(classes=list(classes))
    threshold = classifier.threshold()
    session.rows = [ImageRow.from_result(r, truth[r.path], threshold) for r in classifier.classify(paths)]
    classifier.policies = original
    statuses = [session.status(row) for row in session.rows]
    readable = [row for row in session.rows if row.ok]
    evaluation = Evaluation.from_pairs(list(classes), [(row.truth, row.predicted) for row in readable])
    accepted = [row for row, status in zip(session.rows, statuses, strict=True) if status == ACCEPTED]
    right = sum(row.predicted == row.truth for row in accepted)
    return {
        "images": len(readable),
        "balanced_accuracy": evaluation.balanced_accuracy,
        "flagged_unfamiliar": statuses.count(UNIDENTIFIED) / max(len(readable), 1),
        "accepted": len(accepted) / max(len(readable), 1),
        "accepted_right": right / len(accepted) if accepted else None,
        "new_lab": session.another_lab() is not None,
        "magnification": None if magnification is None else magnification.factor,
    }


def main() -> None:
    from model.modelfile.opening import open_classifier

    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--per-class", type=int, default=60, help="pictures of each class from each lab")
    p.add_argument("--proxies", nargs="+", default=list(PROXIES), choices=list(PROXIES), metavar="PROXY")
    p.add_argument("--json", type=Path)
    p.add_argument("--normalise-magnification", action="store_true", help="frame each batch at its own magnification")
    args = p.parse_args()
    classifier = open_classifier(args.model)
    labs = held_out_pictures(args.per_class)
    print(f"{'proxy':<26}{'lab':<18}{'balanced':>9}{'flagged':>9}{'accepted':>9}{'right':>8}  new lab")
    rows = []
    for name in args.proxies:
        for lab, pictures in labs.items():
            with tempfile.TemporaryDirectory(prefix="bloodcell-proxy-") as scratch:
                figures = measure(classifier, pictures, PROXIES[name], Path(scratch), args.normalise_magnification)
            rows.append({"proxy": name, "lab": lab, **figures})
            right = "-" if figures["accepted_right"] is None else f"{figures['accepted_right']:.1%}"
            print(
                f"{name:<26}{lab:<18}{figures['balanced_accuracy']:>9.1%}{figures['flagged_unfamiliar']:>9.1%}"
                f"{figures['accepted']:>9.1%}{right:>8}  {'yes' if figures['new_lab'] else 'no'}"
                + (f"  x{figures['magnification']:.2f}" if figures["magnification"] else ""),
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
