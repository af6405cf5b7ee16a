"""Wall time of each training step's phases (encode, generate, reward, forward, backward, optimizer, step), one
dict per optimizer step in ``trainer.step_timings``; read by ``benchmarks/scst_step.py``."""

from __future__ import annotations

import time
from contextlib import contextmanager

from transformers import TrainerCallback


def _synchronize() -> None:
    """GPU kernels run asynchronously: wait for them so that a phase's time is its own (a no-op on CPU)."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


class StepTimingMixin:
    """``_timed(phase)`` for the trainer's phases, and the backward pass as the rest of ``training_step``."""

    @contextmanager
    def _timed(self, phase: str):
        _synchronize()
        start = time.perf_counter()
        try:
            yield
        finally:
            _synchronize()
            self._phase_times[phase] += time.perf_counter() - start

    def training_step(self, model, inputs, num_items_in_batch=None):
        start = time.perf_counter()
        before = sum(self._phase_times.values())
        loss = super().training_step(model, inputs, num_items_in_batch)
        # Everything in training_step that is not a timed phase of compute_loss: mostly the backward pass.
        self._phase_times["backward"] += time.perf_counter() - start - (sum(self._phase_times.values()) - before)
        return loss


class StepTimer(TrainerCallback):
    """Closes each optimizer step's phase timings: the optimizer step itself and the whole step's wall time."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.step_start = None
        self.optimizer_start = None

    def on_step_begin(self, args, state, control, **kwargs):
        if self.step_start is None:
            self.step_start = time.perf_counter()

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        self.optimizer_start = time.perf_counter()

    def on_optimizer_step(self, args, state, control, **kwargs):
        if self.optimizer_start is not None:
            self.trainer._phase_times["optimizer"] += time.perf_counter() - self.optimizer_start

    def on_step_end(self, args, state, control, **kwargs):
        timings = dict(self.trainer._phase_times)
        if self.step_start is not None:
            timings["step"] = time.perf_counter() - self.step_start
        self.trainer.step_timings.append(timings)
        self.trainer._phase_times.clear()
        self.step_start = None
