"""Batching video-caption samples: decode and sample frames, check captions, keep every column by name."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from .video import VideoDecodingError, decode_video

logger = logging.getLogger(__name__)


class VideoCaptionCollator:
    """Collate dataset rows into ``{"pixel_values": (B, T, C, H, W), "video_frames": [B arrays], "columns": {name:
    [B values]}}``; ``video_frames`` are the decoded uint8 frames (T, H, W, 3) of each sample, for video-aware
    rewards.

    Every dataset column except the video reaches ``columns`` unchanged, so that rewards receive them by
    name (TRL's ``reward_funcs`` contract).

    Args:
        processor: turns decoded frames into ``pixel_values`` (``processor.preprocess_videos``).
        num_frames (`int`): frames sampled per video (uniformly).
        video_column (`str`, *optional*, defaults to `"video"`): a path or a `datasets.Video(decode=False)` dict.
        references_column (`str`, *optional*, defaults to `"captions"`): each sample's reference captions; a
            sample without any is an error, since it can neither be trained on nor rewarded.
        id_column (`str`, *optional*, defaults to `"video_id"`): names samples in errors and caches.
        skip_corrupt (`bool`, *optional*, defaults to `False`): drop samples whose video cannot be decoded
            (counted in ``num_skipped`` and logged) instead of raising.
        cache_frames (`bool`, *optional*, defaults to `True`): keep decoded frames in memory (per process) so
            that later epochs do not decode again; bounded by ``max_cache_bytes``.
    """

    def __init__(
        self,
        processor,
        num_frames: int,
        video_column: str = "video",
        references_column: str = "captions",
        id_column: str = "video_id",
        skip_corrupt: bool = False,
        cache_frames: bool = True,
        max_cache_bytes: int = 2 << 30,
    ):
        if num_frames < 1:
            raise ValueError(f"num_frames ({num_frames}) must be >= 1.")
        self.processor = processor
        self.num_frames = num_frames
        self.video_column = video_column
        self.references_column = references_column
        self.id_column = id_column
        self.skip_corrupt = skip_corrupt
        self.cache_frames = cache_frames
        self.max_cache_bytes = max_cache_bytes
        self.num_skipped = 0
        self._cache: dict[str, np.ndarray] = {}
        self._cache_bytes = 0

    def _sample_name(self, row: dict, index: int) -> str:
        return str(row.get(self.id_column, f"#{index}"))

    def _frames(self, row: dict, name: str) -> np.ndarray:
        video = row[self.video_column]
        key = video.get("path") if isinstance(video, dict) else str(video)
        if self.cache_frames and key is not None and key in self._cache:
            return self._cache[key]
        frames = decode_video(video, self.num_frames, sample_name=name)
        if self.cache_frames and key is not None and self._cache_bytes + frames.nbytes <= self.max_cache_bytes:
            self._cache[key] = frames
            self._cache_bytes += frames.nbytes
        return frames

    def __call__(self, rows: Sequence[dict]) -> dict:
        if not rows:
            raise ValueError("cannot collate an empty batch.")
        missing = {self.video_column, self.references_column} - set(rows[0])
        if missing:
            raise ValueError(
                f"the dataset has no column(s) {sorted(missing)} (columns: {sorted(rows[0])}); set video_column / "
                "references_column to the dataset's names."
            )
        kept, videos = [], []
        for index, row in enumerate(rows):
            name = self._sample_name(row, index)
            references = row[self.references_column]
            if isinstance(references, str) or not references or not all(isinstance(r, str) and r.strip() for r in references):
                raise ValueError(
                    f"sample {name!r} has an empty or invalid reference list {references!r} in column "
                    f"{self.references_column!r}; every sample needs at least one non-empty caption."
                )
            try:
                videos.append(self._frames(row, name))
            except VideoDecodingError as error:
                if not self.skip_corrupt:
                    raise
                self.num_skipped += 1
                logger.warning("skipping sample %r (%d skipped so far): %s", name, self.num_skipped, error)
                continue
            kept.append(row)
        if not kept:
            raise VideoDecodingError(f"every video of the batch was unreadable ({len(rows)} samples skipped).")
        columns = {key: [row[key] for row in kept] for key in kept[0] if key != self.video_column}
        return {"pixel_values": self.processor.preprocess_videos(videos), "video_frames": videos, "columns": columns}
