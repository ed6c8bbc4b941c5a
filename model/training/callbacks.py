"""The fastai callbacks a training run uses: progress events, cooperative cancel, keeping the
best epoch, stopping on divergence, frozen BatchNorm statistics."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from fastai.vision.all import Callback, CancelFitException, TrackerCallback, TrainEvalCallback

from model.common.events import BatchProgress, EpochEnd, TrainEvent


class StopOnDivergence(Callback):
    """Ends the fit at the first batch whose loss is not finite (fastai's TerminateOnNaN,
    remembered, so that the run is reported as diverged rather than finished)."""

    order = 0

    def __init__(self) -> None:
        self.diverged = False

    def after_batch(self) -> None:
        if self.training and not bool(torch.isfinite(self.loss).all()):
            self.diverged = True
            raise CancelFitException()


class FreezeNormStatistics(Callback):
    """Keeps every BatchNorm layer's running mean and variance as they were before training
    (their scale and shift still learn): fastai's BnFreeze does this for frozen layers only."""

    order = TrainEvalCallback.order + 1

    def before_train(self) -> None:
        for layer in self.model.modules():
            if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
                layer.eval()


class CancelOnRequest(Callback):
    """Ends the fit after the current batch once `should_stop()` is true."""

    order = 0

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop
        self.cancelled = False

    def after_batch(self) -> None:
        if self.should_stop():
            self.cancelled = True
            raise CancelFitException()


class KeepBestCallback(TrackerCallback):
    """Keeps the weights of the epoch with the lowest validation loss in memory and restores
    them when the fit ends, however it ends (unlike SaveModelCallback, no file is written)."""

    order = TrackerCallback.order + 1

    def __init__(self) -> None:
        super().__init__(monitor="valid_loss")
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_epoch: int | None = None

    def after_epoch(self) -> None:
        super().after_epoch()
        if self.new_best:
            self.best_epoch = self.epoch
            self.best_state = {k: v.detach().clone() for k, v in self.learn.model.state_dict().items()}

    def after_fit(self) -> None:
        super().after_fit()
        if self.best_state is not None:
            self.learn.model.load_state_dict(self.best_state)


class ProgressReporter(Callback):
    """Turns fastai's training loop into BatchProgress and EpochEnd events."""

    order = KeepBestCallback.order + 1

    def __init__(
        self, on_event: Callable[[TrainEvent], None], started: float, keep_best: KeepBestCallback | None = None
    ) -> None:
        self.on_event = on_event
        self.started = started
        self.keep_best = keep_best

    def before_fit(self) -> None:
        self.fit_started = time.monotonic()
        self.batches_per_epoch = len(self.dls.train) + len(self.dls.valid)
        self.total_batches = self.n_epoch * self.batches_per_epoch
        self.done_batches = 0

    def _eta(self) -> float:
        elapsed = time.monotonic() - self.fit_started
        if self.done_batches == 0:
            return float("nan")
        return elapsed / self.done_batches * (self.total_batches - self.done_batches)

    def after_batch(self) -> None:
        self.done_batches += 1
        if self.training:
            self.on_event(
                BatchProgress(
                    epoch=self.epoch,
                    n_epochs=self.n_epoch,
                    batch=self.iter,
                    n_batches=len(self.dls.train),
                    loss=float(self.loss.detach()),
                    elapsed=time.monotonic() - self.started,
                    eta=self._eta(),
                )
            )

    def after_epoch(self) -> None:
        train_loss, valid_loss, acc = (float(v) for v in self.recorder.values[-1])
        self.done_batches = (self.epoch + 1) * self.batches_per_epoch
        self.on_event(
            EpochEnd(
                epoch=self.epoch,
                n_epochs=self.n_epoch,
                train_loss=train_loss,
                valid_loss=valid_loss,
                accuracy=acc,
                is_best=self.keep_best is not None and self.keep_best.best_epoch == self.epoch,
                elapsed=time.monotonic() - self.started,
                eta=self._eta(),
            )
        )
