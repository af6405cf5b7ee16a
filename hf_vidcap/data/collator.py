"""Batching video-caption samples: decode and sample frames, check captions, keep every column by name."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from .feature_cache import video_identity
from .sampling import sample_frame_indices
from .video import DECODERS, VideoDecodingError, decode_video

logger = logging.getLogger(__name__)


def empty_batch() -> dict:
    """What the collator returns when ``skip_corrupt`` dropped every sample of a batch: no videos and no
    ``pixel_values`` key; consumers skip it (see `is_empty_batch`)."""
    return {"video_frames": [], "video_keys": [], "columns": {}}


def is_empty_batch(batch: dict) -> bool:
    return batch.get("pixel_values") is None


class VideoCaptionCollator:
    """Collate dataset rows into ``{"pixel_values": (B, T, C, H, W), "frame_mask": (B, T), "video_frames": [B arrays],
    "columns": {name: [B values]}}``; ``video_frames`` are the decoded uint8 frames (T, H, W, 3) of each sample, for
    video-aware rewards; ``frame_mask`` is False only at frames padded with ``short_video="pad"``; ``video_keys``
    identify each video's content (id, file identity) for feature caches; ``sampling_state`` is the frame sampler's
    state after this batch (`state_dict`): a checkpoint stores the one of the last batch trained on, since the data
    loader collates ahead.

    Every dataset column except the video reaches ``columns`` unchanged, so that rewards receive them by
    name (TRL's ``reward_funcs`` contract).

    Args:
        processor: turns decoded frames into ``pixel_values`` (``processor.preprocess_videos``).
        num_frames (`int`): frames sampled per video.
        video_column (`str`, *optional*, defaults to `"video"`): a path or a `datasets.Video(decode=False)` dict.
        references_column (`str`, *optional*, defaults to `"captions"`): each sample's reference captions; a
            sample without any is an error, since it can neither be trained on nor rewarded. `None`: the rows have
            no captions (an action-recognition set for reward-driven tuning); nothing is checked.
        id_column (`str`, *optional*, defaults to `"video_id"`): names samples in errors and caches.
        skip_corrupt (`bool`, *optional*, defaults to `False`): drop samples whose video cannot be decoded
            (counted in ``num_skipped`` and logged) instead of raising. A batch that loses every sample is returned
            empty (`empty_batch`, counted in ``num_skipped_batches``) for the consumer to skip.
        cache_frames (`bool`, *optional*, defaults to `True`): keep decoded frames in memory (per process) so
            that later epochs do not decode again; bounded by ``max_cache_bytes``. Only with ``"uniform"``
            sampling (the random modes draw new frames every time).
        sampling (`str`, *optional*, defaults to `"uniform"`): ``"uniform"`` (evaluation), ``"random_segment"``
            or ``"headtail"`` (training); see `sample_frame_indices`.
        short_video (`str`, *optional*, defaults to `"error"`): ``"error"``, ``"repeat"`` or ``"pad"`` for videos
            with fewer than ``num_frames`` frames; the batch's ``frame_mask`` (B, T) is False at padded frames.
        frame_size (`int` or `(height, width)`, *optional*): resize frames while decoding.
        decoder (`str`, *optional*, defaults to `"pyav"`): ``"pyav"``, ``"decord"`` or ``"torchcodec"``.
        seed (`int`, *optional*, defaults to `0`): seeds the random sampling modes; inside DataLoader workers it is
            combined with the worker's seed, so workers draw different frames and runs repeat under one torch seed.
    """

    def __init__(
        self,
        processor,
        num_frames: int,
        video_column: str = "video",
        references_column: str | None = "captions",
        id_column: str = "video_id",
        skip_corrupt: bool = False,
        cache_frames: bool = True,
        max_cache_bytes: int = 2 << 30,
        sampling: str = "uniform",
        short_video: str = "error",
        frame_size: int | tuple[int, int] | None = None,
        decoder: str = "pyav",
        seed: int = 0,
    ):
        if num_frames < 1:
            raise ValueError(f"num_frames ({num_frames}) must be >= 1.")
        sample_frame_indices(num_frames, num_frames, sampling, short_video)  # unknown names fail here
        if decoder not in DECODERS:
            raise ValueError(f"decoder {decoder!r} is unknown; use one of {DECODERS}.")
        self.sampling = sampling
        self.short_video = short_video
        self.frame_size = frame_size
        self.decoder = decoder
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._rng_worker = None
        self.processor = processor
        self.num_frames = num_frames
        self.video_column = video_column
        self.references_column = references_column
        self.id_column = id_column
        self.skip_corrupt = skip_corrupt
        self.cache_frames = cache_frames and sampling == "uniform"
        self.max_cache_bytes = max_cache_bytes
        self.num_skipped = 0
        self.num_skipped_batches = 0
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # path -> (frames, mask)
        self._cache_bytes = 0

    def state_dict(self) -> dict:
        """The random frame sampling's generator state, saved in checkpoints so that a resumed run draws the frames
        the uninterrupted run would have (the state of this process's collator; DataLoader workers hold copies)."""
        return {"rng": self._rng.bit_generator.state, "worker_seed": self._rng_worker}

    def load_state_dict(self, state: dict) -> None:
        self._rng.bit_generator.state = state["rng"]
        self._rng_worker = state["worker_seed"]

    def _sample_name(self, row: dict, index: int) -> str:
        return str(row.get(self.id_column, f"#{index}"))

    def _worker_rng(self) -> np.random.Generator:
        import torch.utils.data

        info = torch.utils.data.get_worker_info()
        worker_seed = None if info is None else info.seed
        if worker_seed != self._rng_worker:
            # A DataLoader worker holds a copy of this collator: give it its own stream (info.seed differs per
            # worker and per epoch, and follows the torch seed).
            self._rng = np.random.default_rng([self.seed, worker_seed])
            self._rng_worker = worker_seed
        return self._rng

    def _frames(self, row: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
        video = row[self.video_column]
        key = video.get("path") if isinstance(video, dict) else str(video)
        if self.cache_frames and key is not None and key in self._cache:
            return self._cache[key]
        decoded = decode_video(
            video, self.num_frames, sample_name=name, sampling=self.sampling, short_video=self.short_video,
            rng=self._worker_rng(), size=self.frame_size, decoder=self.decoder, return_mask=True,
        )
        if self.cache_frames and key is not None and self._cache_bytes + decoded[0].nbytes <= self.max_cache_bytes:
            self._cache[key] = decoded
            self._cache_bytes += decoded[0].nbytes
        return decoded

    def _check_references(self, references, name: str) -> None:
        if isinstance(references, str) or not references or not all(isinstance(r, str) and r.strip() for r in references):
            raise ValueError(
                f"sample {name!r} has an empty or invalid reference list {references!r} in column "
                f"{self.references_column!r}; every sample needs at least one non-empty caption."
            )

    def __call__(self, rows: Sequence[dict]) -> dict:
        if not rows:
            raise ValueError("cannot collate an empty batch.")
        missing = {self.video_column, self.references_column} - set(rows[0]) - {None}
        if missing:
            raise ValueError(
                f"the dataset has no column(s) {sorted(missing)} (columns: {sorted(rows[0])}); set video_column / "
                "references_column to the dataset's names."
            )
        kept, videos, masks, keys = [], [], [], []
        for index, row in enumerate(rows):
            name = self._sample_name(row, index)
            if self.references_column is not None:
                self._check_references(row[self.references_column], name)
            try:
                frames, mask = self._frames(row, name)
            except VideoDecodingError as error:
                if not self.skip_corrupt:
                    raise
                self.num_skipped += 1
                logger.warning("skipping sample %r (%d skipped so far): %s", name, self.num_skipped, error)
                continue
            videos.append(frames)
            masks.append(mask)
            keys.append(f"{name}|{video_identity(row[self.video_column])}")
            kept.append(row)
        if not kept:
            # Usual at batch size 1: the whole batch is skipped (the trainer counts it and takes no step on it).
            self.num_skipped_batches += 1
            logger.warning("skipping a batch whose %d video(s) were all unreadable (%d such batches so far)", len(rows), self.num_skipped_batches)
            return {**empty_batch(), "sampling_state": self.state_dict()}
        columns = {key: [row[key] for row in kept] for key in kept[0] if key != self.video_column}
        return {
            "pixel_values": self.processor.preprocess_videos(videos),
            "frame_mask": torch.from_numpy(np.stack(masks)),
            "video_frames": videos,
            "video_keys": keys,
            "columns": columns,
            "sampling_state": self.state_dict(),
        }
