"""One network per file: what each network answers on a fixed probe, recorded at save and
checked by whichever backend loads it.

A model file carries each network twice, as weights (torch, the GPU) and as an ONNX graph (the
CPU, BloodCell Review). Nothing else ties the two: a graph whose class rows are rotated, whose
batch comes back reversed or whose logits are scaled by 1e30 passes every structural check. So
`model.modelfile.torch_file.save` runs the probe through the weights, checks that the graph it wrote gives
the same answers, and stores them (`probe.<n>.logits`, `probe.<n>.features`); at load, the ONNX
backend and the torch backend each run the probe and refuse a file whose answers differ.

The probe is a few synthetic smear-like pictures (pink background, red cells, one violet
nucleus each, in different places), made from a fixed seed: distinct enough that a reordered
batch or permuted classes change the answers, and decoded by no one, so nothing on disk can
change them. What this cannot catch, and why: in BloodCell Review (no torch) a file whose graph
and probe record were both rewritten runs the rewritten graph; the weights, and so the GPU PC,
would refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PREFIX = "probe."
PICTURES = 3
SEED = 20_261_207
# Answers may differ by float rounding: the file's float16 weights run in float32 on the CPU,
# in float16 on a GPU. Measured on the shipped networks: below 0.002 (CPU), 0.01 (GPU half).
TOLERANCE = 0.03
GPU_TOLERANCE = 0.06


class ProbeMismatch(ValueError):
    """The network a backend runs is not the one the file recorded, in words."""


@dataclass(frozen=True)
class ProbeRecord:
    """What one network answered on the probe when it was saved."""

    logits: np.ndarray  # (PICTURES, classes)
    features: np.ndarray  # (PICTURES, features)

    def tensors(self, index: int) -> dict[str, np.ndarray]:
        return {
            f"{PREFIX}{index}.logits": self.logits.astype(np.float32),
            f"{PREFIX}{index}.features": self.features.astype(np.float32),
        }


def probe_pixels(height: int, width: int) -> np.ndarray:
    """PICTURES synthetic smear pictures, NHWC uint8, the same on every machine."""
    rng = np.random.default_rng(SEED)
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    pictures = []
    # Each picture its own kind, so that every network answers them differently: red cells alone,
    # a small dark nucleus, a large pale one with granules.
    for nucleus_size, colour, granules in ((0.0, (0, 0, 0), 0), (0.9, (70, 30, 110), 0), (2.2, (150, 110, 200), 60)):
        picture = np.empty((height, width, 3), np.float32)
        picture[:] = rng.uniform([215, 185, 190], [245, 215, 225])
        radius = min(height, width) * rng.uniform(0.08, 0.14)
        for _ in range(int(rng.integers(4, 9))):  # red cells
            y, x = rng.uniform(0, height), rng.uniform(0, width)
            disc = (rows - y) ** 2 + (columns - x) ** 2 <= radius**2
            picture[disc] = rng.uniform([200, 120, 130], [225, 150, 160])
        if nucleus_size:
            y, x = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width
            size = radius * nucleus_size
            nucleus = ((rows - y) / (size * rng.uniform(1.0, 1.5))) ** 2 + ((columns - x) / size) ** 2 <= 1
            picture[nucleus] = colour
            spots = nucleus & (rng.uniform(size=nucleus.shape) < granules / 255)
            picture[spots] = (200, 90, 60)
        picture += rng.normal(0, 6, picture.shape)
        pictures.append(np.clip(picture, 0, 255).astype(np.uint8))
    return np.stack(pictures)


def check_answers(
    path: Path | str, index: int, record: ProbeRecord, logits: np.ndarray, features: np.ndarray | None,
    *, backend: str, tolerance: float = TOLERANCE,
) -> None:  # fmt: skip
    """Raise ProbeMismatch unless `backend`'s answers for network `index` match the record."""
    where = f"its network {index} as {backend} runs it"
    for name, got, want in (("class scores", logits, record.logits), ("features", features, record.features)):
        if got is None:
            raise ProbeMismatch(f"{where} gives no {name}")
        got = np.asarray(got, dtype=np.float64)
        if got.shape != want.shape:
            raise ProbeMismatch(
                f"{where} gives {name} of shape {tuple(got.shape)} for {PICTURES} pictures, "
                f"not {tuple(want.shape)}: the graph does not compute the network its weights describe"
            )
        if not np.isfinite(got).all():
            raise ProbeMismatch(f"{where} gives NaN or infinite {name}")
        difference = float(np.abs(got - want).max() / (np.abs(want).max() + 1.0))
        if difference > tolerance:
            by = f"{difference:.0%}" if difference < 10 else "more than 1000 %"
            raise ProbeMismatch(
                f"{where} does not give the answers recorded when the file was saved ({name} differ by "
                f"{by}): its graph and its weights are not the same network"
            )


def records_from_tensors(
    path: Path | str, stored: dict[str, np.ndarray], classes: int, feature_sizes: list[int]
) -> list[ProbeRecord]:
    """The records `probe.0.*` ... one per network, checked for shape and finiteness; [] when the
    file has none (saved before probes). Raises ValueError naming what is wrong."""
    if not stored:
        return []
    records = []
    for index, features in enumerate(feature_sizes):
        try:
            logits_array, features_array = stored[f"{PREFIX}{index}.logits"], stored[f"{PREFIX}{index}.features"]
        except KeyError:
            raise ValueError(f"the probe record of network {index} is missing") from None
        for name, array, width in (("logits", logits_array, classes), ("features", features_array, features)):
            if array.shape != (PICTURES, width) or not np.isfinite(array).all():
                raise ValueError(f"the probe record {PREFIX}{index}.{name} is damaged")
        records.append(ProbeRecord(logits_array.astype(np.float64), features_array.astype(np.float64)))
    if len(stored) != 2 * len(feature_sizes):
        raise ValueError("the file holds probe records for networks it does not have")
    return records
