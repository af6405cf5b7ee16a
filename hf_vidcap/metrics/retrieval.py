"""Cross-modal retrieval recall@k (WTF-RL's distinctiveness evaluation, with a fixed CLIP model): every caption
queries the videos (text-to-video) and every video queries the captions (video-to-text).

Ties count against the query: a video ranks behind every other video scored at least as high, so a captioner
that gives two videos the same caption gets credit for neither of them in video-to-text retrieval.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def retrieval_ranks(similarity: torch.Tensor, caption_to_video: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """1-based ranks of the right item for each query.

    Args:
        similarity (`torch.Tensor` of shape (N, V)): score of caption i for video j (cosine similarity).
        caption_to_video (`list[int]`, *optional*): the video of each caption; defaults to ``range(N)`` (one
            caption per video, N = V). A video with several captions is found when any of them is.

    Returns:
        ``(text_to_video, video_to_text)``: (N,) ranks of each caption's video, (V,) ranks of each video's best
        caption.
    """
    similarity = torch.as_tensor(similarity, dtype=torch.float64)
    if similarity.ndim != 2 or similarity.numel() == 0:
        raise ValueError(f"similarity must be a non-empty (captions, videos) matrix, got shape {tuple(similarity.shape)}.")
    num_captions, num_videos = similarity.shape
    if caption_to_video is None:
        if num_captions != num_videos:
            raise ValueError(
                f"similarity is {num_captions} x {num_videos}; with several captions per video pass caption_to_video "
                "(the video index of each caption)."
            )
        caption_to_video = list(range(num_captions))
    targets = torch.as_tensor(list(caption_to_video), dtype=torch.long)
    if targets.shape != (num_captions,):
        raise ValueError(f"caption_to_video has {len(targets)} entries but there are {num_captions} captions.")
    if num_captions and (targets.min() < 0 or targets.max() >= num_videos):
        raise ValueError(f"caption_to_video holds indices outside [0, {num_videos}).")
    if not torch.isfinite(similarity).all():
        raise ValueError("similarity holds NaN or infinite values.")
    rows = torch.arange(num_captions)
    right = similarity[rows, targets]
    wrong = torch.ones_like(similarity, dtype=torch.bool)
    wrong[rows, targets] = False
    text_to_video = 1 + ((similarity >= right[:, None]) & wrong).sum(dim=1)
    own = torch.zeros_like(similarity, dtype=torch.bool)
    own[rows, targets] = True
    if not own.any(dim=0).all():
        missing = (~own.any(dim=0)).nonzero().flatten().tolist()
        raise ValueError(f"videos {missing[:10]} have no caption; every video needs at least one for video-to-text recall.")
    best_own = similarity.masked_fill(~own, float("-inf")).max(dim=0).values
    video_to_text = 1 + ((similarity >= best_own[None, :]) & ~own).sum(dim=0)
    return text_to_video, video_to_text


def retrieval_recall(
    similarity: torch.Tensor, caption_to_video: Sequence[int] | None = None, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Recall@k in both directions, in percent, with the median rank.

    Returns:
        ``{"t2v_recall@1": ..., "t2v_recall@5": ..., ..., "v2t_recall@10": ..., "t2v_median_rank": ...,
        "v2t_median_rank": ...}``.

    Example:
        >>> import torch
        >>> from hf_vidcap.metrics import retrieval_recall
        >>> similarity = torch.tensor([[0.9, 0.8], [0.9, 0.8]])  # the two videos got the same caption
        >>> retrieval_recall(similarity, ks=(1,))
        {'t2v_recall@1': 50.0, 'v2t_recall@1': 0.0, 't2v_median_rank': 1.5, 'v2t_median_rank': 2.0}
    """
    if not ks or any(int(k) < 1 for k in ks):
        raise ValueError(f"ks ({list(ks)}) must be positive integers.")
    text_to_video, video_to_text = retrieval_ranks(similarity, caption_to_video)
    result = {}
    for name, ranks in (("t2v", text_to_video), ("v2t", video_to_text)):
        for k in ks:
            result[f"{name}_recall@{k}"] = 100.0 * (ranks <= k).double().mean().item()
    result["t2v_median_rank"] = text_to_video.double().quantile(0.5).item()
    result["v2t_median_rank"] = video_to_text.double().quantile(0.5).item()
    return result
