"""Which frames of a video to decode.

Modes (T = frames wanted, N = frames in the video):

- ``"uniform"`` (evaluation): the centre frame of each of T equal segments; deterministic.
- ``"random_segment"`` (training, TSN-style): one frame drawn uniformly inside each of T equal segments.
- ``"headtail"`` (LAVIS's "headtail"): ceil(T / 2) distinct frames drawn from the first half of the video and
  floor(T / 2) from the second half, each half sorted (LAVIS draws T // 2 from each half, one short for odd T).

Videos shorter than T follow ``short_video``:

- ``"error"``: a `ShortVideoError` naming the sample;
- ``"repeat"``: the uniform spread with repetition, frame ``floor((t + 0.5) N / T)`` at position t, every position
  real (a 3-frame video sampled to 6 gives 0 0 1 1 2 2);
- ``"pad"``: the N frames in order, then the last frame repeated; the returned mask is False on the padding, so
  that a model that supports frame masks can ignore it (a model that does not sees a video that freezes).

A video with no frames is always an error.
"""

from __future__ import annotations

import numpy as np

SAMPLING_MODES = ("uniform", "random_segment", "headtail")
SHORT_VIDEO_POLICIES = ("error", "repeat", "pad")


class ShortVideoError(ValueError):
    """A video has fewer frames than requested and the policy is ``"error"``."""


def _segments(num_available: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(0, num_available, num_frames + 1)
    starts = np.floor(edges[:-1]).astype(np.int64)
    ends = np.maximum(np.floor(edges[1:]).astype(np.int64), starts + 1)
    return starts, ends


def sample_frame_indices(
    num_available: int,
    num_frames: int,
    mode: str = "uniform",
    short_video: str = "error",
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices to decode.

    Args:
        num_available (`int`): frames in the video (N).
        num_frames (`int`): frames wanted (T).
        mode (`str`, *optional*, defaults to `"uniform"`): ``"uniform"``, ``"random_segment"`` or ``"headtail"``.
        short_video (`str`, *optional*, defaults to `"error"`): ``"error"``, ``"repeat"`` or ``"pad"`` when N < T.
        rng (`np.random.Generator`, *optional*): for the random modes; a fresh unseeded one by default.

    Returns:
        ``(indices, mask)``: (T,) int64 indices in [0, N) in time order, and a (T,) bool mask, False only at
        padded positions.

    Example:
        >>> from hf_vidcap.data import sample_frame_indices
        >>> sample_frame_indices(16, 4)[0].tolist()
        [2, 6, 10, 14]
        >>> sample_frame_indices(3, 6, short_video="repeat")[0].tolist()
        [0, 0, 1, 1, 2, 2]
        >>> indices, mask = sample_frame_indices(3, 5, short_video="pad")
        >>> indices.tolist(), mask.tolist()
        ([0, 1, 2, 2, 2], [True, True, True, False, False])
    """
    if mode not in SAMPLING_MODES:
        raise ValueError(f"mode {mode!r} is unknown; use one of {SAMPLING_MODES}.")
    if short_video not in SHORT_VIDEO_POLICIES:
        raise ValueError(f"short_video {short_video!r} is unknown; use one of {SHORT_VIDEO_POLICIES}.")
    if num_frames < 1:
        raise ValueError(f"num_frames ({num_frames}) must be >= 1.")
    if num_available < 1:
        raise ShortVideoError("the video has no frames.")
    mask = np.ones(num_frames, dtype=bool)
    if num_available < num_frames:
        if short_video == "error":
            raise ShortVideoError(
                f"the video has {num_available} frames but {num_frames} were requested; lower num_frames, drop the "
                "sample, or set short_video='repeat' or 'pad'."
            )
        if short_video == "repeat":
            indices = np.floor((np.arange(num_frames) + 0.5) * num_available / num_frames).astype(np.int64)
            return indices, mask
        indices = np.minimum(np.arange(num_frames), num_available - 1).astype(np.int64)
        mask[num_available:] = False
        return indices, mask
    if mode == "uniform":
        edges = np.linspace(0, num_available, num_frames + 1)
        return ((edges[:-1] + edges[1:]) / 2).astype(np.int64), mask
    rng = rng if rng is not None else np.random.default_rng()
    if mode == "random_segment":
        starts, ends = _segments(num_available, num_frames)
        return rng.integers(starts, ends).astype(np.int64), mask
    # headtail: split the video in two halves; the head takes the extra frame when T is odd.
    head_count, tail_count = (num_frames + 1) // 2, num_frames // 2
    middle = num_available // 2
    if middle < head_count or num_available - middle < tail_count:
        # Too short for distinct frames in each half: fall back to one random frame per segment.
        starts, ends = _segments(num_available, num_frames)
        return rng.integers(starts, ends).astype(np.int64), mask
    head = np.sort(rng.choice(middle, size=head_count, replace=False))
    tail = np.sort(middle + rng.choice(num_available - middle, size=tail_count, replace=False))
    return np.concatenate([head, tail]).astype(np.int64), mask
