"""CLIP-S and RefCLIP-S (Hessel et al., 2021) from embeddings, shared by the CLIP rewards and the evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def clip_s(text_embeddings: torch.Tensor, video_embeddings: torch.Tensor, weight: float = 2.5) -> torch.Tensor:
    """``w * max(cos(t, v), 0)`` per row of (N, D) caption and video embeddings (normalised here)."""
    text_embeddings, video_embeddings = torch.as_tensor(text_embeddings), torch.as_tensor(video_embeddings)
    if text_embeddings.shape != video_embeddings.shape or text_embeddings.ndim != 2:
        raise ValueError(
            f"text_embeddings {tuple(text_embeddings.shape)} and video_embeddings {tuple(video_embeddings.shape)} must "
            "both be (N, D), one row per caption."
        )
    cosine = (F.normalize(text_embeddings.float(), dim=-1) * F.normalize(video_embeddings.float(), dim=-1)).sum(dim=-1)
    return weight * cosine.clamp(min=0)


def ref_clip_s(
    clip_scores: torch.Tensor, text_embeddings: torch.Tensor, reference_embeddings: torch.Tensor, reference_owner: Sequence[int]
) -> torch.Tensor:
    """RefCLIP-S: the harmonic mean of CLIP-S and ``max(max_r cos(t, t_r), 0)`` over each caption's references
    (0 when either is 0).

    Args:
        clip_scores (`torch.Tensor` of shape (N,)): `clip_s` of the captions.
        text_embeddings (`torch.Tensor` of shape (N, D)): the captions' embeddings.
        reference_embeddings (`torch.Tensor` of shape (R, D)): all references, flattened.
        reference_owner (`list[int]` of length R): the caption each reference belongs to; every caption needs one.
    """
    num = len(clip_scores)
    owner = torch.as_tensor(list(reference_owner), dtype=torch.long)
    if len(owner) != len(reference_embeddings):
        raise ValueError(f"reference_owner has {len(owner)} entries for {len(reference_embeddings)} references.")
    if num and (torch.bincount(owner, minlength=num)[:num] == 0).any():
        raise ValueError("a caption has no reference; RefCLIP-S needs at least one reference caption per sample.")
    text = F.normalize(torch.as_tensor(text_embeddings).float(), dim=-1)
    references = F.normalize(torch.as_tensor(reference_embeddings).float(), dim=-1)
    similarity = (references * text[owner]).sum(dim=-1)
    best = torch.full((num,), -1.0).scatter_reduce(0, owner, similarity, reduce="amax").clamp(min=0)
    denominator = clip_scores + best
    return torch.where(denominator > 0, 2 * clip_scores * best / denominator.clamp(min=1e-12), torch.zeros_like(clip_scores))
