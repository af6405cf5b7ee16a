"""CLIP-based rewards: CLIP-S / RefCLIP-S (Hessel et al., 2021) and ReGen's CLIP-R (eq. 4), with a frozen CLIP
encoder from transformers (default) or open_clip.

Video-aware: each completion's video arrives as decoded frames (``video_frames``: uint8, T x H x W x C) or as a
precomputed embedding column; the video embedding f = mean over frames of the L2-normalised frame embeddings
(ReGen eq. 4) is computed once per video id and cached for the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..encoders.clip import ref_clip_scores
from ..metrics.clip_score import clip_s
from ._contract import check_finite, check_frames, column, completion_text, video_keys


class VideoEmbeddingCache:
    """Video embeddings by video id, from decoded frames or a precomputed column; each video encoded once.

    Args:
        embedder: anything with ``encode_video(frames) -> (D,) tensor`` (a `CLIPEmbedder`).
        frames_column (`str`, *optional*, defaults to `"video_frames"`): the keyword carrying decoded frames.
        embedding_column (`str`, *optional*): a dataset column with precomputed video embeddings, (D,) or
            per-frame (T, D); used instead of the frames when present.
        id_column (`str`, *optional*, defaults to `"video_id"`): the column naming videos (cache key); without it
            the frames' bytes are hashed.
        max_size (`int`, *optional*, defaults to `1_000_000`): videos kept.
    """

    def __init__(self, embedder, frames_column: str = "video_frames", embedding_column: str | None = None, id_column: str = "video_id", max_size: int = 1_000_000):
        self.embedder = embedder
        self.frames_column = frames_column
        self.embedding_column = embedding_column
        self.id_column = id_column
        self.max_size = max_size
        self.cache: dict[Any, torch.Tensor] = {}
        self.num_encoded = 0

    def __getstate__(self):
        # The cache is per process; a pickled reward starts empty.
        return {**self.__dict__, "cache": {}}

    def __call__(self, kwargs: dict, num: int, reward: str) -> torch.Tensor:
        """(num, D) video embeddings for the completions of one reward call."""
        return self.embed(kwargs, num, reward)[1]

    def embed(self, kwargs: dict, num: int, reward: str) -> tuple[list, torch.Tensor]:
        """The video key of each completion (`None` where unknown) and the (num, D) video embeddings."""
        if self.embedding_column is not None and kwargs.get(self.embedding_column) is not None:
            values = column(kwargs, self.embedding_column, reward, num, "precomputed video embeddings")
            embeddings = []
            for value in values:
                tensor = torch.as_tensor(np.asarray(value), dtype=torch.float32)
                if tensor.ndim == 2:  # per-frame embeddings
                    tensor = F.normalize(tensor, dim=-1).mean(dim=0)
                embeddings.append(tensor)
            return video_keys(kwargs, self.id_column, None, num), torch.stack(embeddings)
        frames = column(kwargs, self.frames_column, reward, num, "decoded frames, uint8 T x H x W x 3, per completion")
        keys = video_keys(kwargs, self.id_column, frames, num)
        embeddings = []
        for key, video in zip(keys, frames):
            cached = self.cache.get(key) if key is not None else None
            if cached is None:
                cached = self.embedder.encode_video(check_frames(video, key))
                self.num_encoded += 1
                if key is not None and len(self.cache) < self.max_size:
                    self.cache[key] = cached
            embeddings.append(cached)
        return keys, torch.stack(embeddings)


class _CLIPScoreReward:
    def __init__(self, embedder, weight: float, use_references: bool, references_column: str, videos: VideoEmbeddingCache, name: str):
        self.embedder = embedder
        self.weight = weight
        self.use_references = use_references
        self.references_column = references_column
        self.videos = videos
        self.__name__ = name

    @property
    def required_columns(self) -> tuple[str, ...]:
        return (self.references_column,) if self.use_references else ()

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        num = len(texts)
        if num == 0:
            return []
        video = self.videos(kwargs, num, self.__name__)
        text = self.embedder.encode_text(texts)
        scores = clip_s(text, video, self.weight)
        if self.use_references:
            references = column(kwargs, self.references_column, self.__name__, num, "reference captions for RefCLIP-S")
            if any(isinstance(refs, str) or len(refs) == 0 for refs in references):
                raise ValueError(f"the {self.__name__} reward got a sample with no reference captions.")
            scores = ref_clip_scores(self.embedder, scores, text, references)
        return check_finite(self.__name__, scores.tolist(), texts)


def get_clip_score_reward(
    embedder,
    weight: float = 2.5,
    use_references: bool = False,
    references_column: str = "captions",
    embedding_column: str | None = None,
    id_column: str = "video_id",
    frames_column: str = "video_frames",
) -> _CLIPScoreReward:
    """CLIP-S (Hessel et al., 2021): ``w * max(cos(f, t), 0)`` with f the video embedding (mean of the normalised
    frame embeddings) and t the caption's; RefCLIP-S with ``use_references=True``: the harmonic mean of CLIP-S and
    ``max(max_r cos(t, t_r), 0)`` over the sample's reference captions.

    Args:
        embedder (`CLIPEmbedder`): frozen CLIP (transformers or open_clip).
        weight (`float`, *optional*, defaults to `2.5`): w, Hessel et al.'s rescaling.
        use_references (`bool`, *optional*, defaults to `False`): RefCLIP-S.
        references_column (`str`, *optional*, defaults to `"captions"`): reference captions (RefCLIP-S only).
        embedding_column (`str`, *optional*): column of precomputed video embeddings, used instead of frames.
        id_column (`str`, *optional*, defaults to `"video_id"`): video ids, the cache key of video embeddings.
        frames_column (`str`, *optional*, defaults to `"video_frames"`): keyword with decoded uint8 frames.

    Returns:
        A picklable callable named ``clip_score`` (``ref_clip_score`` with references).

    Example:
        >>> import numpy as np
        >>> from hf_vidcap.rewards import get_clip_score_reward
        >>> from hf_vidcap.testing import tiny_clip_embedder
        >>> reward = get_clip_score_reward(tiny_clip_embedder())
        >>> frames = np.zeros((4, 32, 32, 3), dtype=np.uint8)
        >>> scores = reward(["a red circle", "a blue square"], video_frames=[frames, frames], video_id=["v0", "v0"])
        >>> len(scores), all(0.0 <= s <= 2.5 for s in scores), reward.videos.num_encoded  # one video, encoded once
        (2, True, 1)
    """
    if not weight > 0:
        raise ValueError(f"weight ({weight}) must be positive.")
    videos = VideoEmbeddingCache(embedder, frames_column, embedding_column, id_column)
    name = "ref_clip_score" if use_references else "clip_score"
    return _CLIPScoreReward(embedder, weight, use_references, references_column, videos, name)


def get_clip_r_reward(
    embedder, embedding_column: str | None = None, id_column: str = "video_id", frames_column: str = "video_frames"
) -> _CLIPScoreReward:
    """ReGen's CLIP-R (eq. 4): ``max(cos(f, t), 0)``, f = the mean over the video's F frames of the L2-normalised
    CLIP image embeddings, t = the caption's CLIP text embedding. It keeps captions video-specific while CLS-R makes
    them class-discriminative.

    Args: as `get_clip_score_reward` (no weight, no references).

    Returns:
        A picklable callable named ``clip_r``.

    Example:
        >>> import numpy as np
        >>> from hf_vidcap.rewards import get_clip_r_reward
        >>> from hf_vidcap.testing import tiny_clip_embedder
        >>> reward = get_clip_r_reward(tiny_clip_embedder())
        >>> frames = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
        >>> [0.0 <= s <= 1.0 for s in reward(["a red circle moves left"], video_frames=[frames])]
        [True]
    """
    videos = VideoEmbeddingCache(embedder, frames_column, embedding_column, id_column)
    return _CLIPScoreReward(embedder, 1.0, False, "captions", videos, "clip_r")
