"""Zero-shot classification accuracy (ReGen's protocol: caption -> text embedding -> nearest class name; CLASTER's
ZSL and generalised ZSL reporting)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _check(scores, labels) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.as_tensor(scores, dtype=torch.float64)
    labels = torch.as_tensor(list(labels), dtype=torch.long)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must be (samples, classes) with at least two classes, got shape {tuple(scores.shape)}.")
    if labels.shape != (scores.shape[0],):
        raise ValueError(f"got {len(labels)} labels for {scores.shape[0]} samples; pass one label per sample.")
    if len(labels) == 0:
        raise ValueError("no samples to score.")
    if labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise ValueError(f"labels must be class indices in [0, {scores.shape[1]}).")
    if not torch.isfinite(scores).all():
        raise ValueError("scores hold NaN or infinite values.")
    return scores, labels


def _accuracy(hits: torch.Tensor, labels: torch.Tensor, per_class_mean: bool) -> float:
    if not per_class_mean:
        return 100.0 * hits.double().mean().item()
    classes = labels.unique()
    return 100.0 * torch.stack([hits[labels == c].double().mean() for c in classes]).mean().item()


def top_k_accuracy(scores, labels, ks: Sequence[int] = (1, 5), per_class_mean: bool = False) -> dict[str, float]:
    """Top-k accuracy in percent; ties rank the true class behind (a sample is correct at k only when fewer than k
    other classes score at least as high).

    Args:
        scores (`torch.Tensor` of shape (N, C)): class scores (e.g. cosine similarity of caption and class name).
        labels (`list[int]`): the true class of each sample.
        ks (`list[int]`, *optional*, defaults to `(1, 5)`): the k's.
        per_class_mean (`bool`, *optional*, defaults to `False`): average per-class accuracies (mean class
            accuracy, as CLASTER reports) instead of per-sample.

    Example:
        >>> from hf_vidcap.metrics import top_k_accuracy
        >>> top_k_accuracy([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5]], [0, 1], ks=(1, 2))
        {'top1_accuracy': 50.0, 'top2_accuracy': 100.0}
    """
    scores, labels = _check(scores, labels)
    right = scores[torch.arange(len(labels)), labels]
    rank = (scores >= right[:, None]).sum(dim=1)  # includes the true class itself
    result = {}
    for k in ks:
        if int(k) < 1:
            raise ValueError(f"ks ({list(ks)}) must be positive integers.")
        result[f"top{k}_accuracy"] = _accuracy(rank <= k, labels, per_class_mean)
    return result


def generalized_zero_shot_accuracy(scores, labels, unseen_classes: Sequence[int], per_class_mean: bool = False) -> dict[str, float]:
    """Generalised zero-shot accuracy: every sample is classified among all classes (seen and unseen); accuracy on
    the samples of seen classes, on those of unseen classes, and their harmonic mean ``2 s u / (s + u)``.

    Example:
        >>> from hf_vidcap.metrics import generalized_zero_shot_accuracy
        >>> generalized_zero_shot_accuracy([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9]], [0, 1, 1], unseen_classes=[1])
        {'seen_accuracy': 100.0, 'unseen_accuracy': 50.0, 'harmonic_mean': 66.66666666666667}
    """
    scores, labels = _check(scores, labels)
    unseen = torch.zeros(scores.shape[1], dtype=torch.bool)
    unseen_classes = list(unseen_classes)
    if not unseen_classes or min(unseen_classes) < 0 or max(unseen_classes) >= scores.shape[1]:
        raise ValueError(f"unseen_classes must be a non-empty list of class indices in [0, {scores.shape[1]}).")
    unseen[torch.as_tensor(unseen_classes)] = True
    right = scores[torch.arange(len(labels)), labels]
    hits = (scores >= right[:, None]).sum(dim=1) <= 1
    is_unseen = unseen[labels]
    if is_unseen.all() or not is_unseen.any():
        raise ValueError("generalised zero-shot accuracy needs samples of both seen and unseen classes.")
    seen_acc = _accuracy(hits[~is_unseen], labels[~is_unseen], per_class_mean)
    unseen_acc = _accuracy(hits[is_unseen], labels[is_unseen], per_class_mean)
    harmonic = 2 * seen_acc * unseen_acc / (seen_acc + unseen_acc) if seen_acc + unseen_acc > 0 else 0.0
    return {"seen_accuracy": seen_acc, "unseen_accuracy": unseen_acc, "harmonic_mean": harmonic}
