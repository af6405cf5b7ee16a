"""Shared pieces of the reward contract: completion text, column access, video keys, value checks."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def completion_text(completion) -> str:
    """The caption of a completion: TRL passes plain strings for standard datasets and message lists for
    conversational ones."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return completion[-1].get("content", "")
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion).__name__}.")


def column(kwargs: dict, name: str, reward: str, num: int, purpose: str) -> list:
    """The dataset column ``name`` (one value per completion), with errors that name the reward and the fix."""
    if name not in kwargs or kwargs[name] is None:
        available = sorted(k for k in kwargs if k not in ("trainer_state", "log_metric", "log_extra"))
        raise ValueError(
            f"the {reward} reward needs the column {name!r} ({purpose}), but the call has only {available}; pass it "
            f"as a dataset column or set the reward's column argument to the right name."
        )
    values = list(kwargs[name])
    if len(values) != num:
        raise ValueError(f"column {name!r} has {len(values)} values for {num} completions; pass one per completion.")
    return values


def group_ids(kwargs: dict, reward: str, num: int) -> list:
    """Which video each completion belongs to (the trainer's ``group_ids``)."""
    return column(kwargs, "group_ids", reward, num, "which video each completion belongs to")


def video_keys(kwargs: dict, id_column: str, frames: Sequence[np.ndarray] | None, num: int) -> list:
    """A cache key per completion: the ``id_column`` value when the call has it, else a digest of the frames."""
    if id_column in kwargs and kwargs[id_column] is not None:
        keys = list(kwargs[id_column])
        if len(keys) != num:
            raise ValueError(f"column {id_column!r} has {len(keys)} values for {num} completions.")
        return keys
    if frames is None:
        return [None] * num
    digests: dict[int, str] = {}
    keys = []
    for f in frames:
        if id(f) not in digests:  # the K completions of a video share one frames array
            digests[id(f)] = hashlib.blake2b(np.ascontiguousarray(f).data, digest_size=16).hexdigest()
        keys.append(digests[id(f)])
    return keys


def check_frames(frames: Any, sample: Any) -> np.ndarray:
    """A (T, H, W, C) uint8 array, or an error naming the sample."""
    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.shape[0] < 1:
        raise ValueError(
            f"video_frames of sample {sample!r} has shape {array.shape}; expected (T, H, W, 3) uint8 frames with T >= 1."
        )
    if array.dtype != np.uint8:
        raise TypeError(f"video_frames of sample {sample!r} has dtype {array.dtype}; expected uint8 (decoded RGB frames).")
    return array


def check_finite(name: str, values: Sequence[float | None], completions: Sequence) -> list[float | None]:
    """Raise on NaN / inf, naming the reward and the completion; return the values as floats."""
    out: list[float | None] = []
    for i, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(
                f"reward {name!r} produced {value} for completion {i} ({completions[i]!r}); rewards must be finite "
                "(return None when a reward does not apply)."
            )
        out.append(value)
    return out
