"""Which checkpoints can be resumed from: a run killed while saving leaves a partial ``checkpoint-N`` (files missing
or cut short), which must be named and skipped rather than fail deep inside a loader with an error that names no
file.

The checks are cheap (no tensor is read): ``trainer_state.json`` (which transformers' Trainer writes last) parses,
a zip-format ``.pt``/``.pth``/``.bin`` file has its central directory (written at its end), a ``.safetensors``
file is as long as its header says, and every process of the run has its RNG state.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import zipfile
from collections.abc import Callable
from typing import Any

import torch

logger = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
WEIGHTS_FILES = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors", "pytorch_model.bin", "pytorch_model.bin.index.json")


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed from; the message names the checkpoint and the file."""


def _file_problem(path: str) -> str | None:
    name = os.path.basename(path)
    try:
        if name.endswith(".json"):
            with open(path, encoding="utf-8") as handle:
                json.load(handle)
        elif name.endswith((".pt", ".pth", ".bin")):
            with open(path, "rb") as handle:
                zip_format = handle.read(2) == b"PK"
            if zip_format and not zipfile.is_zipfile(path):  # torch.save's format: the directory is at the end
                return f"{name} is truncated (its zip directory is missing)"
        elif name.endswith(".safetensors"):
            size = os.path.getsize(path)
            with open(path, "rb") as handle:
                header_length = struct.unpack("<Q", handle.read(8))[0] if size >= 8 else None
                if header_length is None or 8 + header_length > size:
                    return f"{name} is truncated (shorter than its header)"
                header = json.loads(handle.read(header_length))
            end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"), default=0)
            if 8 + header_length + end > size:
                return f"{name} is truncated ({size} bytes, its header needs {8 + header_length + end})"
    except (OSError, ValueError, KeyError, struct.error) as error:
        return f"{name} is unreadable ({type(error).__name__}: {error})"
    return None


def checkpoint_problems(checkpoint: str, world_size: int = 1) -> list[str]:
    """What makes ``checkpoint`` unusable for resuming a run of ``world_size`` processes (empty when it is fine)."""
    if not os.path.isdir(checkpoint):
        return [f"{checkpoint} is not a directory"]
    files = sorted(os.listdir(checkpoint))
    problems = []
    if "trainer_state.json" not in files:
        problems.append("trainer_state.json is missing (the Trainer writes it last: the save was interrupted)")
    if not any(name in files for name in WEIGHTS_FILES) and not any(name.startswith("global_step") for name in files):
        problems.append(f"no model weights (none of {', '.join(WEIGHTS_FILES)})")
    rng_files = [name for name in files if name.startswith("rng_state")]
    if world_size > 1 and rng_files:
        problems += [f"rng_state_{rank}.pth is missing" for rank in range(world_size) if f"rng_state_{rank}.pth" not in files]
    for root, _, names in os.walk(checkpoint):
        for name in sorted(names):
            problem = _file_problem(os.path.join(root, name))
            if problem is not None:
                problems.append(problem)
    return problems


def list_checkpoints(output_dir: str) -> list[str]:
    """The ``checkpoint-N`` folders of ``output_dir``, newest (largest N) first."""
    if not os.path.isdir(output_dir):
        return []
    found = [(int(m.group(1)), name) for name in os.listdir(output_dir) if (m := _CHECKPOINT.match(name))]
    return [os.path.join(output_dir, name) for _, name in sorted(found, reverse=True) if os.path.isdir(os.path.join(output_dir, name))]


def resolve_resume_checkpoint(resume_from_checkpoint: bool | str, output_dir: str, world_size: int = 1) -> str:
    """The checkpoint to resume from: a given path after checking it, or (``True``) the newest complete checkpoint
    in ``output_dir``, skipping incomplete newer ones with a warning that names each and what is wrong with it."""
    if isinstance(resume_from_checkpoint, str):
        problems = checkpoint_problems(resume_from_checkpoint, world_size)
        if problems:
            others = [c for c in list_checkpoints(os.path.dirname(resume_from_checkpoint.rstrip("/"))) if not checkpoint_problems(c, world_size)]
            hint = f" Complete checkpoints beside it: {', '.join(others)}." if others else ""
            raise CheckpointError(f"cannot resume from {resume_from_checkpoint}: {'; '.join(problems)}.{hint}")
        return resume_from_checkpoint
    checkpoints = list_checkpoints(output_dir)
    if not checkpoints:
        raise CheckpointError(f"resume_from_checkpoint=True but {output_dir} holds no checkpoint-N folder; train without it.")
    for checkpoint in checkpoints:
        problems = checkpoint_problems(checkpoint, world_size)
        if not problems:
            return checkpoint
        logger.warning("skipping the incomplete checkpoint %s: %s", checkpoint, "; ".join(problems))
    raise CheckpointError(
        f"no complete checkpoint in {output_dir} (all of {', '.join(os.path.basename(c) for c in checkpoints)} are "
        "damaged; the warnings above say how); start a new run."
    )


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def load_checkpoint_file(path: str, loader: Callable[[str], Any]) -> Any:
    """``loader(path)``, with any failure reported as a `CheckpointError` naming the file and its checkpoint."""
    try:
        return loader(path)
    except Exception as error:
        raise CheckpointError(
            f"{os.path.basename(path)} in checkpoint {os.path.dirname(path)} cannot be read ({type(error).__name__}: "
            f"{error}); the checkpoint is damaged: resume from an earlier one."
        ) from error


class CheckpointStateMixin:
    """What `VideoSCSTTrainer` adds to a checkpoint (each process's reward states and frame-sampler state) and how
    it resumes (the newest complete checkpoint; the sampler restored before the first batch)."""

    def _reward_state_path(self, checkpoint: str) -> str:
        # Online rewards update on each process's own batch: every process keeps (and restores) its own state.
        return os.path.join(checkpoint, f"reward_states_rank{self.accelerator.process_index}.pt")

    def _collator_state_path(self, checkpoint: str) -> str:
        return os.path.join(checkpoint, f"collator_state_rank{self.accelerator.process_index}.json")

    def _save_rng_state(self, output_dir: str) -> None:
        # Saved with the RNG states, before the Trainer writes trainer_state.json (its last file): a checkpoint with
        # that file has these too (see checkpoints.checkpoint_problems).
        super()._save_rng_state(output_dir)
        states = {name: func.state_dict() for name, func in zip(self.reward_names, self.reward_funcs) if hasattr(func, "state_dict")}
        if states:
            torch.save(states, self._reward_state_path(output_dir))
        # The frame sampler's state after the last batch trained on (the data loader has already collated the next).
        sampling_state = self._sampling_state
        if sampling_state is None and hasattr(self.data_collator, "state_dict"):
            sampling_state = self.data_collator.state_dict()
        if sampling_state is not None:
            with open(self._collator_state_path(output_dir), "w", encoding="utf-8") as handle:
                json.dump(sampling_state, handle)

    def _load_collator_state(self, checkpoint: str) -> None:
        # Before the first batch: the Trainer restores its own RNG states only after collating the first batch of
        # the resumed epoch, and skips the already-trained batches of that epoch without collating them.
        path = self._collator_state_path(checkpoint)
        if hasattr(self.data_collator, "load_state_dict") and os.path.exists(path):  # absent in older checkpoints
            load_checkpoint_file(path, lambda p: self.data_collator.load_state_dict(read_json(p)))

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs):
        """[`Trainer.train`]; ``resume_from_checkpoint=True`` resumes from the newest *complete* checkpoint (an
        incomplete newer one, left by a run killed while saving, is skipped with a warning naming it), and a given
        checkpoint is checked first: a missing or truncated file is an error naming it."""
        if resume_from_checkpoint:
            resume_from_checkpoint = resolve_resume_checkpoint(resume_from_checkpoint, self.args.output_dir, self.args.world_size)
            self._load_collator_state(resume_from_checkpoint)
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

    def _load_optimizer_and_scheduler(self, checkpoint) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)
        stateful = {name: func for name, func in zip(self.reward_names, self.reward_funcs) if hasattr(func, "load_state_dict")}
        if checkpoint is None or not stateful:
            return
        path = self._reward_state_path(checkpoint)
        if not os.path.exists(path):
            raise ValueError(
                f"{checkpoint} has no saved state for the reward(s) {sorted(stateful)} ({os.path.basename(path)}); "
                "resume with the rewards it was saved with, or start a new run."
            )
        # The states hold optimizer and RNG state written by this trainer (not arbitrary objects).
        states = load_checkpoint_file(path, lambda p: torch.load(p, weights_only=False))
        for name, func in stateful.items():
            if name not in states:
                raise ValueError(f"{path} has no state for reward {name!r} (it has {sorted(states)}).")
            func.load_state_dict(states[name])


__all__ = ["CheckpointError", "CheckpointStateMixin", "checkpoint_problems", "list_checkpoints", "load_checkpoint_file", "read_json", "resolve_resume_checkpoint"]
