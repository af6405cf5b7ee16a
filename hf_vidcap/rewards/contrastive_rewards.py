"""WTF-RL's bidirectional contrastive reward (eq. 2), computed over the whole batch.

For a caption x_c of video i_c, with f^T, f^I the (normalised) CLIP text and video embeddings and s(x, i) =
f^T(x) . f^I(i):

    r_i2t(x_c) = tau * log( exp(s(x_c, i_c) / tau) / sum_{x in T \\ x_c} exp(s(x, i_c) / tau) )
    r_t2i(x_c) = tau * log( exp(s(x_c, i_c) / tau) / sum_{i in I \\ i_c} exp(s(x_c, i) / tau) )
    r_bicont = r_i2t + r_t2i

the decoupled form (the positive pair is left out of the denominator, so a caption that beats every other
caption of the batch for its video gets a positive reward). T holds every completion of the call (the beam or
sampled captions), the greedy captions (``greedy_completions``) and the ground-truth captions of all videos in
the batch; I holds the batch's videos plus, per video, its most similar videos mined once from the dataset
(`VideoBank`). With a small tau, r_i2t ~ s(x_c, i_c) - max_x s(x, i_c): the strongest caption of the batch is the
baseline, which is why this reward needs no baseline from the trainer (``baseline="none"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ._contract import check_finite, column, completion_text
from .clip_rewards import VideoEmbeddingCache


class VideoBank:
    """Embeddings of every video of a dataset, to mine each batch video's most similar videos (hard negatives
    for r_t2i). Built once before training (WTF-RL: "done only once before the training").

    Args:
        video_ids (`list`): one id per video.
        embeddings (`torch.Tensor` of shape (N, D)): their video embeddings (normalised here).
    """

    def __init__(self, video_ids: Sequence, embeddings: torch.Tensor):
        embeddings = torch.as_tensor(embeddings, dtype=torch.float32)
        if embeddings.ndim != 2 or len(video_ids) != len(embeddings):
            raise ValueError(f"got {len(video_ids)} video ids for embeddings of shape {tuple(embeddings.shape)}; pass (N, D).")
        if len(set(video_ids)) != len(video_ids):
            raise ValueError("video_ids has duplicates; each video needs a distinct id.")
        self.video_ids = list(video_ids)
        self.embeddings = F.normalize(embeddings, dim=-1)
        self.index = {v: i for i, v in enumerate(self.video_ids)}

    @classmethod
    def from_frames(cls, embedder, videos: Sequence[tuple[object, np.ndarray]]) -> VideoBank:
        """Encode ``(video_id, frames)`` pairs with ``embedder.encode_video``."""
        videos = list(videos)
        if not videos:
            raise ValueError("videos is empty; the bank needs at least one video.")
        return cls([v for v, _ in videos], torch.stack([embedder.encode_video(f) for _, f in videos]))

    @classmethod
    def from_dataset(
        cls, embedder, dataset, num_frames: int = 8, video_column: str = "video", id_column: str = "video_id",
        show_progress: bool = True,
    ) -> VideoBank:
        """Decode (``num_frames`` uniformly sampled frames; a still image is one frame) and encode every video of
        a `datasets.Dataset` (or list of rows), keyed by ``id_column``: the mining bank of WTF-RL (the paper mines
        similar COCO training images once before training). A row without the columns is an error naming it."""
        from tqdm.auto import tqdm

        from ..data.video import decode_video

        videos = []
        for index in tqdm(range(len(dataset)), desc="video bank", disable=not show_progress):
            row = dataset[index]
            missing = [c for c in (video_column, id_column) if c not in row]
            if missing:
                raise ValueError(f"row {index} has no {missing} column(s); the video bank needs a video and an id per row.")
            frames = decode_video(row[video_column], num_frames, sample_name=str(row[id_column]), short_video="repeat")
            videos.append((row[id_column], frames))
        return cls.from_frames(embedder, videos)

    def most_similar(self, video_ids: Sequence, k: int) -> list:
        """Up to ``k`` most similar bank videos per query video (the videos themselves excluded), as bank indices,
        all queries together without repeats."""
        if k <= 0:
            return []
        rows = [self.index[v] for v in video_ids if v in self.index]
        if not rows:
            return []
        similarity = self.embeddings[rows] @ self.embeddings.T
        similarity[:, rows] = float("-inf")  # the batch's own videos are already in I
        top = similarity.topk(min(k, max(len(self.video_ids) - len(rows), 0)), dim=-1).indices
        return sorted(set(top.flatten().tolist()))


class _ContrastiveReward:
    __name__ = "contrastive"
    uses_greedy_completions = True  # the trainer decodes greedy captions for T even without a greedy baseline

    def __init__(self, embedder, temperature, bidirectional, references_column, greedy_column, bank, num_mined, videos):
        self.embedder = embedder
        self.temperature = temperature
        self.bidirectional = bidirectional
        self.references_column = references_column
        self.greedy_column = greedy_column
        self.bank = bank
        self.num_mined = num_mined
        self.videos = videos

    @property
    def required_columns(self) -> tuple[str, ...]:
        return (self.references_column,)  # the ground-truth captions join the caption pool

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        num = len(texts)
        if num == 0:
            return []
        name = self.__name__
        keys, video_embeddings = self.videos.embed(kwargs, num, name)
        video_embeddings = F.normalize(video_embeddings, dim=-1)  # (N, D)
        keys = [k if k is not None else f"#{i}" for i, k in enumerate(keys)]  # unnamed embeddings: one video each
        position = {}
        for i, key in enumerate(keys):
            position.setdefault(key, i)
        unique, first = list(position), list(position.values())  # each video and its first completion
        index = {key: u for u, key in enumerate(unique)}
        video_of = torch.tensor([index[k] for k in keys])
        batch_videos = video_embeddings[first]  # (U, D)

        # T: the completions, then one greedy caption and the references of each video.
        pool, owner = list(texts), list(video_of.tolist())
        if self.greedy_column in kwargs and kwargs[self.greedy_column] is not None:
            greedy = column(kwargs, self.greedy_column, name, num, "the greedy caption of each completion's video")
            for u, i in enumerate(first):
                pool.append(completion_text(greedy[i]))
                owner.append(u)
        references = column(kwargs, self.references_column, name, num, "ground-truth captions, part of the caption pool")
        for u, i in enumerate(first):
            refs = references[i]
            if isinstance(refs, str) or len(refs) == 0:
                raise ValueError(f"sample {i} has no reference captions; the contrastive reward needs them in its caption pool.")
            pool += list(refs)
            owner += [u] * len(refs)
        pool_embeddings = self.embedder.encode_text(pool)  # (P, D)
        text = pool_embeddings[:num]
        tau = self.temperature

        positive = (text * batch_videos[video_of]).sum(dim=-1)  # s(x_c, i_c), (N,)
        # r_i2t: the video's similarity to every pool caption except x_c itself.
        caption_scores = batch_videos[video_of] @ pool_embeddings.T / tau  # (N, P)
        caption_scores[torch.arange(num), torch.arange(num)] = float("-inf")
        reward = positive - tau * torch.logsumexp(caption_scores, dim=-1)
        if self.bidirectional:
            images = batch_videos
            if self.bank is not None and self.num_mined > 0:
                mined = self.bank.most_similar(unique, self.num_mined)
                mined = [m for m in mined if self.bank.video_ids[m] not in set(unique)]
                if mined:
                    images = torch.cat([batch_videos, self.bank.embeddings[mined]])
            if len(images) < 2:
                raise ValueError(
                    "the text-to-image term needs at least one other video: the call has a single video and no mined "
                    "ones; pass a VideoBank with num_mined > 0, batch several videos, or set bidirectional=False."
                )
            video_scores = text @ images.T / tau  # (N, |I|)
            video_scores[torch.arange(num), video_of] = float("-inf")
            reward = reward + positive - tau * torch.logsumexp(video_scores, dim=-1)
        return check_finite(name, reward.tolist(), texts)


def get_contrastive_reward(
    embedder,
    temperature: float = 0.01,
    bidirectional: bool = True,
    references_column: str = "captions",
    greedy_column: str = "greedy_completions",
    video_bank: VideoBank | None = None,
    num_mined: int = 0,
    embedding_column: str | None = None,
    id_column: str = "video_id",
    frames_column: str = "video_frames",
) -> _ContrastiveReward:
    """WTF-RL's bidirectional contrastive reward r_bicont (eq. 2, decoupled form) over the batch.

    Args:
        embedder (`CLIPEmbedder`): frozen CLIP.
        temperature (`float`, *optional*, defaults to `0.01`): tau.
        bidirectional (`bool`, *optional*, defaults to `True`): add r_t2i; `False` is the paper's
            "RL - Unidirectional" (r_i2t only).
        references_column (`str`, *optional*, defaults to `"captions"`): ground-truth captions (in T).
        greedy_column (`str`, *optional*, defaults to `"greedy_completions"`): the trainer's greedy captions (in T).
        video_bank (`VideoBank`, *optional*): the dataset's video embeddings, to mine hard negative videos.
        num_mined (`int`, *optional*, defaults to `0`): similar videos mined per batch video (into I).
        embedding_column, id_column, frames_column: as `get_clip_score_reward`.

    Returns:
        A picklable callable named ``contrastive``.

    Example:
        >>> import numpy as np
        >>> from hf_vidcap.rewards import get_contrastive_reward
        >>> from hf_vidcap.testing import tiny_clip_embedder
        >>> reward = get_contrastive_reward(tiny_clip_embedder())
        >>> rng = np.random.default_rng(0)
        >>> v0, v1 = (rng.integers(0, 255, (4, 32, 32, 3), dtype=np.uint8) for _ in range(2))
        >>> scores = reward(
        ...     ["a red circle", "a red square", "a blue cross"],
        ...     video_frames=[v0, v0, v1], video_id=["v0", "v0", "v1"],
        ...     captions=[["a red circle moves"], ["a red circle moves"], ["a blue cross spins"]],
        ... )
        >>> len(scores)
        3
    """
    if not temperature > 0:
        raise ValueError(f"temperature ({temperature}) must be positive.")
    if num_mined < 0:
        raise ValueError(f"num_mined ({num_mined}) must be >= 0.")
    if num_mined > 0 and video_bank is None:
        raise ValueError(f"num_mined ({num_mined}) needs a video_bank to mine from; build one with VideoBank.from_frames.")
    videos = VideoEmbeddingCache(embedder, frames_column, embedding_column, id_column)
    return _ContrastiveReward(embedder, temperature, bidirectional, references_column, greedy_column, video_bank, num_mined, videos)
