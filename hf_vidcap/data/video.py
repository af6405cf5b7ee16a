"""Video decoding with PyAV (the default; it bundles its own FFmpeg), decord or torchcodec when installed.

Only the sampled frames are converted (and, with ``size``, resized by the decoder). Errors always name the file
and, where known, the sample, so that a bad video never turns into a silently wrong batch.
"""

from __future__ import annotations

import importlib.util
import io
import os

import numpy as np

from .sampling import ShortVideoError, sample_frame_indices

DECODERS = ("pyav", "decord", "torchcodec")
_MODULES = {"pyav": "av", "decord": "decord", "torchcodec": "torchcodec"}


class VideoDecodingError(ValueError):
    """A video file is missing, unreadable, corrupt, empty, or has too few frames for the requested sampling."""


def available_decoders() -> list[str]:
    """The decoders whose package is installed, PyAV first."""
    return [name for name in DECODERS if importlib.util.find_spec(_MODULES[name]) is not None]


def uniform_frame_indices(num_available: int, num_frames: int) -> np.ndarray:
    """Indices of ``num_frames`` frames spread uniformly over ``num_available``: the centre of each of
    ``num_frames`` equal segments (the evaluation sampling of most video captioners)."""
    if num_available < num_frames:
        raise ValueError(f"cannot take {num_frames} distinct frames from a video of {num_available} frames.")
    return sample_frame_indices(num_available, num_frames, "uniform")[0]


def present_video_indices(paths: list[str], where: str, skip_missing: bool, check_files: bool, noun: str, hint: str) -> list[int]:
    """Indices of the ``paths`` that exist. Missing ones are an error (``check_files``) naming them, or with
    ``skip_missing`` dropped with a warning (and a log line) giving the count; the loaders of `hf_vidcap.data` share
    this policy."""
    import logging
    import warnings

    present = [os.path.exists(path) for path in paths]
    keep = [i for i, ok in enumerate(present) if ok]
    if len(keep) == len(paths):
        return keep
    missing = [path for path, ok in zip(paths, present) if not ok]
    if skip_missing:
        message = f"{where}: skipped {len(missing)} of {len(paths)} videos that are missing (e.g. {missing[:2]})."
        warnings.warn(message, stacklevel=3)
        logging.getLogger(__name__).warning(message)
        return keep
    if check_files:
        raise FileNotFoundError(f"{len(missing)} {noun} are missing, e.g. {missing[:3]}; {hint}, or pass skip_missing=True to drop them.")
    return list(range(len(paths)))


def _pick(frames_by_index: dict, indices: np.ndarray) -> np.ndarray:
    return np.stack([frames_by_index[i] for i in indices.tolist()])


def _decode_pyav(source, choose, size):
    import av

    resize = {} if size is None else {"width": size[1], "height": size[0]}
    with av.open(source) as container:
        if not container.streams.video:
            raise VideoDecodingError("it has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        count = stream.frames
        if count > 0:
            # Trust the container's frame count, decode up to the last wanted frame, convert only wanted frames.
            indices, mask = choose(count)
            wanted, last, kept = set(indices.tolist()), int(indices.max()), {}
            for position, frame in enumerate(container.decode(stream)):
                if position in wanted:
                    kept[position] = frame.to_ndarray(format="rgb24", **resize)
                if position >= last:
                    return _pick(kept, indices), mask
            # Fewer frames than the header says: fall through and decode everything again.
    with av.open(source if not isinstance(source, io.BytesIO) else io.BytesIO(source.getvalue())) as container:
        frames = [frame.to_ndarray(format="rgb24", **resize) for frame in container.decode(video=0)]
    indices, mask = choose(len(frames))
    return np.stack([frames[i] for i in indices.tolist()]), mask


def _decode_decord(source, choose, size):
    import decord

    height, width = size if size is not None else (-1, -1)
    reader = decord.VideoReader(source, width=width, height=height, num_threads=1)
    indices, mask = choose(len(reader))
    unique, inverse = np.unique(indices, return_inverse=True)
    return reader.get_batch(unique.tolist()).asnumpy()[inverse], mask


def _decode_torchcodec(source, choose, size):
    import torch
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(source.getvalue() if isinstance(source, io.BytesIO) else source, dimension_order="NCHW")
    indices, mask = choose(decoder.metadata.num_frames)
    frames = decoder.get_frames_at(indices.tolist()).data
    if size is not None:
        frames = torch.nn.functional.interpolate(frames.float(), size=size, mode="bilinear", antialias=True)
        frames = frames.round().clamp(0, 255).to(torch.uint8)
    return frames.permute(0, 2, 3, 1).numpy(), mask


_BACKENDS = {"pyav": _decode_pyav, "decord": _decode_decord, "torchcodec": _decode_torchcodec}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def _decode_image(source, choose, size):
    """A still image as a one-frame video (COCO in WTF-RL / sequence-level exploration)."""
    from PIL import Image

    with Image.open(source) as image:
        image = image.convert("RGB")
        if size is not None:
            image = image.resize((size[1], size[0]), Image.BICUBIC)
        frame = np.asarray(image, dtype=np.uint8)
    indices, mask = choose(1)
    return frame[None][np.zeros(len(indices), dtype=int)], mask


def decode_video(
    video,
    num_frames: int,
    sample_name: str | None = None,
    sampling: str = "uniform",
    short_video: str = "error",
    rng: np.random.Generator | None = None,
    size: tuple[int, int] | int | None = None,
    decoder: str = "pyav",
    return_mask: bool = False,
):
    """Decode ``num_frames`` RGB frames of a video.

    Args:
        video (`str`, `os.PathLike` or `dict`):
            A path, or a `datasets.Video(decode=False)` value ``{"path": ..., "bytes": ...}``. A still image
            (``.jpg``, ``.png``, ...) is a one-frame video.
        num_frames (`int`): how many frames to return (T).
        sample_name (`str`, *optional*): named in error messages (e.g. the video id).
        sampling (`str`, *optional*, defaults to `"uniform"`): ``"uniform"``, ``"random_segment"`` or
            ``"headtail"`` (see `sample_frame_indices`).
        short_video (`str`, *optional*, defaults to `"error"`): ``"error"``, ``"repeat"`` or ``"pad"`` for videos
            with fewer than T frames.
        rng (`np.random.Generator`, *optional*): for the random sampling modes.
        size (`int` or `(height, width)`, *optional*): resize each frame while decoding.
        decoder (`str`, *optional*, defaults to `"pyav"`): ``"pyav"``, ``"decord"`` or ``"torchcodec"`` (the last
            two when installed; see `available_decoders`).
        return_mask (`bool`, *optional*): also return the (T,) bool mask (False at padded positions).

    Returns:
        `np.ndarray` of dtype uint8 and shape (T, H, W, 3); with ``return_mask``, ``(frames, mask)``.

    Raises:
        `VideoDecodingError`: the file is missing, corrupt, empty or without a video stream, or holds fewer than T
        frames with ``short_video="error"``.
    """
    if decoder not in DECODERS:
        raise ValueError(f"decoder {decoder!r} is unknown; use one of {DECODERS}.")
    if importlib.util.find_spec(_MODULES[decoder]) is None:
        raise ValueError(f"decoder {decoder!r} is not installed (pip install {_MODULES[decoder]}); installed: {available_decoders()}.")
    if isinstance(size, int):
        size = (size, size)
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise ValueError(f"size ({size}) must be a positive int or a (height, width) pair.")
    sample_frame_indices(num_frames, num_frames, sampling, short_video)  # bad arguments fail here, not as "corrupt"
    path, data = (video.get("path"), video.get("bytes")) if isinstance(video, dict) else (video, None)
    where = f"video {path!r}" + (f" (sample {sample_name!r})" if sample_name is not None else "")
    if data is None:
        if path is None:
            raise VideoDecodingError(f"{where}: the video value has neither 'path' nor 'bytes'.")
        if not os.path.exists(path):
            raise VideoDecodingError(f"{where} does not exist; check the dataset's video paths.")
        if os.path.getsize(path) == 0:
            raise VideoDecodingError(f"{where} is an empty (zero-length) file.")
        source = os.fspath(path)
    else:
        source = io.BytesIO(data)

    def choose(num_available: int):
        return sample_frame_indices(num_available, num_frames, sampling, short_video, rng)

    is_image = path is not None and os.path.splitext(os.fspath(path))[1].lower() in IMAGE_SUFFIXES
    try:
        frames, mask = (_decode_image if is_image else _BACKENDS[decoder])(source, choose, size)
    except ShortVideoError as error:
        raise VideoDecodingError(f"{where}: {error}") from None
    except VideoDecodingError as error:
        raise VideoDecodingError(f"{where} cannot be used: {error}.") from None
    except Exception as error:  # FFmpeg-backed decoders raise many error types; all mean "unreadable"
        raise VideoDecodingError(f"{where} is corrupt or not a video ({type(error).__name__}: {error}).") from error
    return (frames, mask) if return_mask else frames
