"""Unfamiliar images: how unlike the training images an image looks to the network itself.

Confidence cannot tell "unsure between two classes" from "not what I was trained on": a photo of
a cat can be a confident neutrophil. Two scores that measure unfamiliarity instead, combined:

- **feature distance**: the class-conditional Mahalanobis distance of the image's penultimate
  features (the input of the network's last linear layer) to the training images of the
  nearest class, under one covariance shared by the classes. With thousands of features and a
  few thousand images the full covariance is not estimable, so it is modelled as probabilistic
  PCA: the top `COMPONENTS` directions each with their own variance, the rest one residual
  variance (this keeps the model file small: a 2,560-feature network stores 2.6 MB, not 26 MB).
- **energy**: minus the log-sum-exp of the logits, low for an image some class fits well.

Each is standardised on held-out images of the training labs (mean 0, spread 1) and the two
are averaged (an ensemble averages its networks'). The threshold is a quantile of that
combined score on the held-out images: with `pass_share` 0.96, 96 % of them pass. A model trained
on several labs holds each lab to that share: its held-out images are counted lab by lab and the
strictest lab's quantile is the line, so that a lab with fewer or harder held-out cells is not
flagged more often because the others outnumber it.

A first, cheaper gate needs no network: an image in which no stained leukocyte is found
(model.images.cell_locator) is unfamiliar whatever the network says. An ensemble whose networks name
different classes is unsure, not unfamiliar: that image goes to review (model.review.session), not here.
Measured on a two-lab ensemble's own validation cells, disagreement took 9.6 % of one lab's
familiar cells out of the differential on top of the 4 % the threshold allows, and flagged no
non-leukocyte picture that the score did not (research/notes/recipe-search-2026-11-28.md, step 15).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

PREFIX = "unfamiliar."
COMPONENTS = 256
DEFAULT_PASS_SHARE = 0.96
# The calibration scores kept in the file (sorted, evenly subsampled), so that any pass share
# chosen later maps to a threshold without the calibration images.
KEPT_SCORES = 1000
# A lab's own quantile is trusted from this many held-out images on; a lab with fewer counts only
# within the pool of all held-out images.
MIN_SOURCE_IMAGES = 30

NO_LEUKOCYTE = "no stained white cell was found in the image"
UNLIKE_TRAINING = "it is unlike the images the model was trained on"
# Not a reason for the Unidentified bin: a reason for review (model.review.session).
NETWORKS_DISAGREE = "the ensemble's networks name different classes"

# When far more of the images with a leukocyte in them are unlike the model's training images
# than on its own labs, the pictures most likely come from a lab whose stain, camera or
# magnification the model does not know. The shipped default flags 1 % of the pbc lab's held-out
# cells and 4 % of blood-cells TEST's cells; the models trained on one lab flagged 82-94 % of the
# other lab's (README, "Unidentified"). A batch is judged another lab's when the model's own labs
# would give its number of unfamiliar images by chance less often than ANOTHER_LAB_CHANCE, and it
# is at least ANOTHER_LAB_FACTOR times their share: a binomial test, so that 5 of 5 unfamiliar
# images tell as much as 30 of 100, with no minimum count.
ANOTHER_LAB_CHANCE = 0.001
ANOTHER_LAB_FACTOR = 3.0
# From this many judged images on, the share is known well enough not to give its interval.
SURE_IMAGES = 200


class ReferenceError(ValueError):
    """Reference statistics that cannot be used (wrong shapes, non-finite numbers)."""


@dataclass
class NetworkReference:
    """One network's training features, summarised."""

    class_means: np.ndarray  # (classes, features)
    components: np.ndarray  # (features, k): the top principal directions of the within-class spread
    variances: np.ndarray  # (k + 1,): the variance along each, then the residual variance
    scale: np.ndarray  # (4,): mean and spread of the distance, then of the energy, on held-out images

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance (probabilistic PCA) to the nearest class mean, per image."""
        features = np.asarray(features, dtype=np.float64)
        best = np.full(len(features), np.inf)
        principal, residual = self.variances[:-1], self.variances[-1]
        for mean in self.class_means:
            centred = features - mean
            projected = centred @ self.components
            along = (projected**2 / principal).sum(axis=1)
            off = np.maximum((centred**2).sum(axis=1) - (projected**2).sum(axis=1), 0.0) / residual
            best = np.minimum(best, along + off)
        return best

    def standardised(self, features: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        distance_mean, distance_spread, energy_mean, energy_spread = self.scale
        return (
            (self.distance(features) - distance_mean) / distance_spread,
            (energy(logits) - energy_mean) / energy_spread,
        )


@dataclass
class ReferenceStatistics:
    """What a model file keeps to score unfamiliarity, and the threshold it was calibrated to."""

    networks: list[NetworkReference]
    calibration_scores: np.ndarray  # sorted combined scores of held-out images (subsampled)
    pass_share: float = DEFAULT_PASS_SHARE
    summary: dict = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        return threshold_for(self.calibration_scores, self.pass_share)

    @property
    def lab_by_lab(self) -> bool:
        """Calibrated lab by lab: the kept scores are then, at each share, the strictest lab's."""
        return bool(self.summary.get("held_out_by_source"))

    def who_passes(self, images: str = "held-out images") -> str:
        """Whom the threshold lets pass, in words: "96% of 991 held-out images", or for a model
        calibrated lab by lab "96% of each lab's held-out images (335 + 656)"."""
        if self.lab_by_lab:
            counts = " + ".join(str(count) for count in self.summary["held_out_by_source"].values())
            return f"{self.pass_share:.0%} of each lab's {images} ({counts})"
        return f"{self.pass_share:.0%} of {self.summary.get('calibrated_on')} {images}"

    def scores(self, features: Sequence[np.ndarray], logits: Sequence[np.ndarray]) -> np.ndarray:
        """The combined unfamiliarity of each image (higher: less familiar)."""
        return self.parts(features, logits)["combined"]

    def parts(self, features: Sequence[np.ndarray], logits: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Each score alone (distance, energy: standardised, averaged over networks) and combined."""
        pairs = [
            network.standardised(feature, logit)
            for network, feature, logit in zip(self.networks, features, logits, strict=True)
        ]
        distance = np.mean([d for d, _ in pairs], axis=0)
        energies = np.mean([e for _, e in pairs], axis=0)
        return {"distance": distance, "energy": energies, "combined": (distance + energies) / 2}

    def to_tensors(self) -> dict[str, np.ndarray]:
        tensors = {
            f"{PREFIX}calibration_scores": self.calibration_scores.astype(np.float32),
            f"{PREFIX}pass_share": np.array([self.pass_share], dtype=np.float32),
        }
        for index, network in enumerate(self.networks):
            for name in ("class_means", "components", "variances", "scale"):
                tensors[f"{PREFIX}{index}.{name}"] = getattr(network, name).astype(np.float32)
        return tensors

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, np.ndarray], n_classes: int, feature_sizes: list[int]
    ) -> ReferenceStatistics:
        """The statistics stored in a model file, every shape and number checked."""

        def get(name: str, shape: tuple[int | None, ...]) -> np.ndarray:
            if f"{PREFIX}{name}" not in tensors:
                raise ReferenceError(f"'{PREFIX}{name}' is missing")
            value = np.asarray(tensors[f"{PREFIX}{name}"], dtype=np.float64)
            fits = value.ndim == len(shape) and all(
                want is None or got == want for got, want in zip(value.shape, shape, strict=True)
            )
            if not fits:
                raise ReferenceError(f"'{PREFIX}{name}' has shape {tuple(value.shape)}, expected {shape}")
            if not np.isfinite(value).all():
                raise ReferenceError(f"'{PREFIX}{name}' holds NaN or infinite numbers")
            return value

        expected = {f"{PREFIX}calibration_scores", f"{PREFIX}pass_share"} | {
            f"{PREFIX}{index}.{name}"
            for index in range(len(feature_sizes))
            for name in ("class_means", "components", "variances", "scale")
        }
        unexpected = sorted(set(tensors) - expected)
        if unexpected:
            raise ReferenceError(f"unexpected entries {', '.join(unexpected[:3])}")
        networks = []
        for index, size in enumerate(feature_sizes):
            means = get(f"{index}.class_means", (n_classes, size))
            components = get(f"{index}.components", (size, None))
            variances = get(f"{index}.variances", (components.shape[1] + 1,))
            scale = get(f"{index}.scale", (4,))
            if (variances <= 0).any() or scale[1] <= 0 or scale[3] <= 0:
                raise ReferenceError(f"network {index}: a variance or spread is not positive")
            networks.append(NetworkReference(means, components, variances, scale))
        scores = get("calibration_scores", (None,))
        (share,) = get("pass_share", (1,))
        if len(scores) == 0 or not 0 < share <= 1:
            raise ReferenceError("the calibration scores are empty or the pass share is not in (0, 1]")
        return cls(networks, np.sort(scores), float(share))


def threshold_for(calibration_scores: np.ndarray, pass_share: float) -> float:
    """The score below which `pass_share` of the calibration images fall."""
    return float(np.quantile(calibration_scores, min(max(pass_share, 0.0), 1.0)))


def energy(logits: np.ndarray) -> np.ndarray:
    """Minus the log-sum-exp of each row of logits (stable)."""
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1, keepdims=True)
    return -(top[:, 0] + np.log(np.exp(logits - top).sum(axis=1)))


def fit_network_reference(features: np.ndarray, labels: np.ndarray, n_classes: int) -> NetworkReference:
    """Class means and the shared within-class spread of training features (scale unset)."""
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    means = np.stack(
        [features[labels == c].mean(axis=0) if (labels == c).any() else features.mean(axis=0) for c in range(n_classes)]
    )
    centred = features - means[labels]
    covariance = centred.T @ centred / max(1, len(features) - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = np.clip(eigenvalues[order], 0.0, None), eigenvectors[:, order]
    k = min(COMPONENTS, features.shape[1] - 1, max(1, len(features) - 1))
    floor = max(float(eigenvalues.mean()) * 1e-6, 1e-12)
    rest = eigenvalues[k:]
    residual = max(float(rest.mean()) if len(rest) else floor, floor)
    variances = np.append(np.maximum(eigenvalues[:k], residual), residual)
    return NetworkReference(means, eigenvectors[:, :k], variances, np.array([0.0, 1.0, 0.0, 1.0]))


def calibrate(
    fit: tuple[Sequence[np.ndarray], Sequence[np.ndarray], np.ndarray],
    held_out: tuple[Sequence[np.ndarray], Sequence[np.ndarray]],
    n_classes: int,
    pass_share: float = DEFAULT_PASS_SHARE,
    held_out_sources: Sequence[int] | None = None,
) -> ReferenceStatistics:
    """Reference statistics from the features of training images (per network, with their
    labels) and a threshold from held-out images of the same labs: (features, logits) each, and
    with `held_out_sources` the lab (source index) of each held-out image."""
    fit_features, _, labels = fit
    held_features, held_logits = held_out
    if len(labels) < 2 or len(held_logits[0]) < 1:
        raise ReferenceError("calibrating needs at least 2 training images and 1 held-out image")
    networks = []
    for train_features, features, logits in zip(fit_features, held_features, held_logits, strict=True):
        reference = fit_network_reference(train_features, labels, n_classes)
        distance, energies = reference.distance(features), energy(logits)
        reference.scale = np.array([distance.mean(), _spread(distance), energies.mean(), _spread(energies)])
        networks.append(reference)
    statistics = ReferenceStatistics(networks, np.array([0.0]), pass_share)
    combined = statistics.scores(held_features, held_logits)
    by_source = held_out_by_source(held_out_sources, len(combined))
    statistics.calibration_scores = strictest_quantiles(combined, list(by_source.values()))
    statistics.summary = {
        "method": "Mahalanobis (probabilistic PCA) + energy, standardised and averaged",
        "fitted_on": int(len(labels)),
        "calibrated_on": int(len(combined)),
        "pass_share": pass_share,
    }
    if by_source:
        statistics.summary["held_out_by_source"] = {str(source): int(len(rows)) for source, rows in by_source.items()}
    return statistics


def held_out_by_source(sources: Sequence[int] | None, count: int) -> dict[int, np.ndarray]:
    """The rows of each lab with enough held-out images to be held to the pass share alone;
    empty when fewer than two labs have (one lab's quantile is the pool's)."""
    if sources is None:
        return {}
    labels = np.asarray(sources)
    if len(labels) != count:
        raise ReferenceError(f"{len(labels)} source labels for {count} held-out images")
    rows = {int(source): np.flatnonzero(labels == source) for source in np.unique(labels)}
    large = {source: chosen for source, chosen in rows.items() if len(chosen) >= MIN_SOURCE_IMAGES}
    return large if len(large) >= 2 else {}


def strictest_quantiles(scores: np.ndarray, groups: Sequence[np.ndarray]) -> np.ndarray:
    """The scores kept in the file: at evenly spaced shares, the highest of the quantiles of all
    the held-out scores and of each group's (a lab's rows). Reading the threshold for any pass
    share from them lets at least that share of every group pass. Without groups these are the
    sorted scores themselves, evenly subsampled."""
    shares = np.linspace(0.0, 1.0, min(KEPT_SCORES, len(scores)))
    curves = [np.quantile(scores, shares)] + [np.quantile(scores[rows], shares) for rows in groups]
    return np.max(curves, axis=0)


def _spread(values: np.ndarray) -> float:
    spread = float(np.std(values))
    return spread if math.isfinite(spread) and spread > 1e-9 else 1.0


def reason(*, leukocyte_found: bool, score: float | None, threshold: float | None) -> str | None:
    """Why an image goes to the Unidentified bin, or None: the cheap gate first. Without a
    threshold (a model file without statistics) the flag is unavailable, gate included, so
    that "not available" means the same everywhere."""
    if threshold is None:
        return None
    if not leukocyte_found:
        return NO_LEUKOCYTE
    if score is not None and score > threshold:
        return UNLIKE_TRAINING
    return None


@dataclass(frozen=True)
class AnotherLab:
    """Far more images unfamiliar to the model than on the labs it was calibrated on: most likely
    a lab new to it. Until a technician has looked at them, its answers are provisional."""

    unlike: int
    judged: int
    expected_share: float  # what the model's own labs give (1 - the familiar share passed)
    low: float  # the unfamiliar share's 95 % interval, given how few images there may be
    high: float

    def describe(self) -> str:
        certainty = (
            ""
            if self.judged >= SURE_IMAGES
            else f"; with {self.judged} images the share could be anywhere from {self.low:.0%} to {self.high:.0%}"
        )
        return (
            f"{self.unlike} of {self.judged} images ({self.unlike / self.judged:.0%}) are unfamiliar to the model, "
            f"against about {self.expected_share:.0%} on the labs it knows{certainty}: this lab's stain, camera or "
            "magnification is most likely new to it, so every image goes to review"
        )


def another_lab(reasons: Iterable[str | None], pass_share: float = DEFAULT_PASS_SHARE) -> AnotherLab | None:
    """Whether a batch looks like another lab's, from `reason()` of each of its classified
    images (a model that cannot tell gives none), at any batch size: when its unfamiliar share is
    so far above the calibrated one (1 - `pass_share`) that the model's own labs would give as
    many by chance less than once in a thousand batches, and at least ANOTHER_LAB_FACTOR times
    it. Pictures with no stained white cell say nothing about the lab and are not counted."""
    judged = [why for why in reasons if why != NO_LEUKOCYTE]
    unlike = sum(why == UNLIKE_TRAINING for why in judged)
    expected = min(max(1.0 - pass_share, 0.001), 0.5)
    if not judged or unlike < ANOTHER_LAB_FACTOR * expected * len(judged):
        return None
    if binomial_tail(unlike, len(judged), expected) >= ANOTHER_LAB_CHANCE:
        return None
    low, high = wilson_interval(unlike, len(judged))
    return AnotherLab(unlike, len(judged), expected, low, high)


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (no scipy on the classify path)."""
    if k <= 0:
        return 1.0
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
        for i in range(k, n + 1)
    ]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(value - top) for value in logs))


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a share k/n."""
    share = k / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def unidentified_reason(item, threshold: float | None) -> str | None:
    """`reason` for anything that carries the gate and the score (a classification result, a
    review row)."""
    return reason(leukocyte_found=item.leukocyte_found, score=item.unfamiliarity, threshold=threshold)
