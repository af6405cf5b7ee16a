"""Video decoding and frame sampling.

Decoding uses PyAV, which bundles its own FFmpeg. Errors always name the file and, where known, the sample,
so that a bad video never turns into a silently wrong batch.
"""

from __future__ import annotations

import os

import numpy as np


class VideoDecodingError(ValueError):
    """A video file is missing, unreadable, corrupt, or has too few frames for the requested sampling."""


def uniform_frame_indices(num_available: int, num_frames: int) -> np.ndarray:
    """Indices of ``num_frames`` frames spread uniformly over ``num_available``: the centre of each of
    ``num_frames`` equal segments (the evaluation sampling of most video captioners)."""
    if num_frames < 1:
        raise ValueError(f"num_frames ({num_frames}) must be >= 1.")
    if num_available < num_frames:
        raise ValueError(f"cannot take {num_frames} distinct frames from a video of {num_available} frames.")
    edges = np.linspace(0, num_available, num_frames + 1)
    return ((edges[:-1] + edges[1:]) / 2).astype(np.int64)


def _read_all_frames(source) -> list[np.ndarray]:
    import av

    with av.open(source) as container:
        if not container.streams.video:
            raise VideoDecodingError("it has no video stream")
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def decode_video(video, num_frames: int, sample_name: str | None = None) -> np.ndarray:
    """Decode ``num_frames`` uniformly sampled RGB frames.

    Args:
        video (`str`, `os.PathLike` or `dict`):
            A path, or a `datasets.Video(decode=False)` value ``{"path": ..., "bytes": ...}``.
        num_frames (`int`):
            How many frames to return.
        sample_name (`str`, *optional*):
            Named in error messages (e.g. the video id), so that a bad sample can be found.

    Returns:
        `np.ndarray` of dtype uint8 and shape (T, H, W, 3).

    Raises:
        `VideoDecodingError`: the file is missing, corrupt or empty, or holds fewer than ``num_frames`` frames.
    """
    import io

    path, data = (video.get("path"), video.get("bytes")) if isinstance(video, dict) else (video, None)
    where = f"video {path!r}" + (f" (sample {sample_name!r})" if sample_name is not None else "")
    if data is None:
        if path is None:
            raise VideoDecodingError(f"{where}: the video value has neither 'path' nor 'bytes'.")
        if not os.path.exists(path):
            raise VideoDecodingError(f"{where} does not exist; check the dataset's video paths.")
        source = os.fspath(path)
    else:
        source = io.BytesIO(data)
    try:
        frames = _read_all_frames(source)
    except VideoDecodingError as error:
        raise VideoDecodingError(f"{where} cannot be used: {error}.") from None
    except Exception as error:  # PyAV raises many FFmpeg error types; all mean "unreadable"
        raise VideoDecodingError(f"{where} is corrupt or not a video ({type(error).__name__}: {error}).") from error
    if len(frames) < num_frames:
        raise VideoDecodingError(
            f"{where} has {len(frames)} frames but {num_frames} were requested; lower num_frames or drop the "
            "sample from the dataset."
        )
    indices = uniform_frame_indices(len(frames), num_frames)
    return np.stack([frames[i] for i in indices])
