"""The policy-gradient loss the trainer minimises (the other terms — XE, weighted teacher forcing, entropy, KL — are
added to it in `VideoSCSTTrainer`).

Shapes: N = B * K sampled captions, grouped by video.
"""

from __future__ import annotations

import torch


def policy_loss(sequence_logprobs: torch.Tensor, advantages: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """REINFORCE with advantages: ``-(1 / n) sum_i A_i log p(w_i)`` over the n usable captions.

    Args:
        sequence_logprobs (`torch.Tensor` of shape (N,)): each caption's log-probability (with grad).
        advantages (`torch.Tensor` of shape (B, K) or (N,)): reward minus baseline, possibly scaled; no gradient
            flows through them.
        valid (`torch.Tensor` of shape (B, K) or (N,)): usable captions. The others weigh 0 but stay in the graph,
            so that a process whose captions were all dropped still reduces gradients with the others (DDP).
    """
    weights = torch.where(valid.reshape(-1), advantages.reshape(-1), 0.0).to(sequence_logprobs)
    return -(weights.detach() * sequence_logprobs).sum() / max(int(valid.sum()), 1)


def scst_loss(sequence_logprobs: torch.Tensor, rewards: torch.Tensor, baselines: torch.Tensor) -> torch.Tensor:
    """Self-critical sequence training (Rennie et al., eq. 9): ``-mean_i (r_i - b_i) log p(w_i)``; `policy_loss`
    with every caption usable.

    Args:
        sequence_logprobs (`torch.Tensor` of shape (N,)): log-probability of each sampled caption (with grad).
        rewards (`torch.Tensor` of shape (N,)): reward of each sampled caption.
        baselines (`torch.Tensor` of shape (N,)): baseline of each sample (e.g. its video's greedy reward).
    """
    return policy_loss(sequence_logprobs, rewards - baselines, torch.ones_like(rewards, dtype=torch.bool))


__all__ = ["policy_loss", "scst_loss"]
