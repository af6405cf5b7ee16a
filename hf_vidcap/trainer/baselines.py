"""Reward baselines: each turns the rewards of the K captions of every video into one baseline per caption, and
declares what it needs (the greedy caption's reward, beam-searched captions, K >= 2), so that the config can reject
a combination that would train nothing and the trainer decodes greedy captions only when a baseline asks.

Add one by subclassing `Baseline` and registering it; ``VideoSCSTConfig(baseline="<name>")`` then accepts it::

    @register_baseline("median")
    class MedianBaseline(Baseline):
        min_generations = 2

        def __call__(self, rewards, valid, greedy_rewards=None):
            median = rewards.nanquantile(0.5, dim=1, keepdim=True).expand_as(rewards)
            return median, valid

Shapes: B videos, K captions per video.
"""

from __future__ import annotations

import torch

from .registry import PartRegistry


class Baseline:
    """Per-caption baselines for the rewards (B, K) of K captions per video.

    Declarations, read by `VideoSCSTConfig` and the trainer:

    - ``needs_greedy`` (`bool`): the trainer decodes each video's greedy caption and passes its reward as
      ``greedy_rewards`` (B,).
    - ``rollouts`` (`tuple[str]` or `None`): the rollout strategies the baseline is meant for (`None`: any).
    - ``min_generations`` (`int`): the smallest K with which its advantages are not all zero.
    """

    name: str = ""
    needs_greedy: bool = False
    rollouts: tuple[str, ...] | None = None
    min_generations: int = 1

    def check_config(self, args) -> None:
        """Raise a `ValueError` naming the fix when ``args`` would make this baseline train nothing."""
        if self.rollouts is not None and args.rollout not in self.rollouts:
            raise ValueError(f"baseline={self.name!r} scores {'/'.join(self.rollouts)} rollouts; set rollout={self.rollouts[0]!r}.")
        if args.num_generations < self.min_generations:
            raise ValueError(
                f"baseline={self.name!r} needs num_generations >= {self.min_generations} (with "
                f"{args.num_generations} every advantage is zero: nothing trains); set num_generations >= "
                f"{self.min_generations} or use baseline='greedy'."
            )

    def __call__(
        self, rewards: torch.Tensor, valid: torch.Tensor, greedy_rewards: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(baselines, valid)``, both (B, K). ``valid`` (B, K) marks the captions whose reward is usable; return
        it with False added where a baseline is unusable (those captions drop out of the loss)."""
        raise NotImplementedError


BASELINES = PartRegistry("baseline", Baseline)
register_baseline = BASELINES.register
get_baseline = BASELINES.create  # an instance of the baseline registered under a name


@register_baseline("greedy")
class GreedyBaseline(Baseline):
    """Self-critical sequence training (Rennie et al.): the reward of the video's greedy caption."""

    needs_greedy = True

    def check_config(self, args) -> None:
        super().check_config(args)
        if args.rollout == "beam" and args.num_beams < 2:
            raise ValueError(
                "rollout='beam' with num_beams=1 is greedy decoding, so baseline='greedy' subtracts each caption's own "
                "reward (zero advantage: nothing trains); set num_beams >= 2 or rollout='sample'."
            )

    def __call__(self, rewards, valid, greedy_rewards=None):
        if greedy_rewards is None:
            raise ValueError(f"baseline {self.name!r} needs the greedy rewards.")
        baselines = greedy_rewards.unsqueeze(1).expand_as(rewards)
        return baselines, valid & torch.isfinite(baselines)


@register_baseline("beam_vs_greedy")
class BeamVsGreedyBaseline(GreedyBaseline):
    """ReGen eq. 3: the top beams against the greedy caption, ``(r(w_b) - r(w_g)) grad log p(w_b)``."""

    rollouts = ("beam",)

    def check_config(self, args) -> None:
        Baseline.check_config(self, args)
        if args.num_beams < 2:
            raise ValueError(
                "baseline='beam_vs_greedy' with num_beams=1 compares greedy decoding with itself (zero advantage); "
                "set num_beams > 1 (e.g. 5)."
            )


@register_baseline("leave_one_out")
class LeaveOneOutBaseline(Baseline):
    """The mean reward of the video's other valid captions (RLOO; "new self-critical", Luo 2020)."""

    min_generations = 2

    def __call__(self, rewards, valid, greedy_rewards=None):
        zeroed, count = torch.where(valid, rewards, 0.0), valid.sum(dim=1, keepdim=True)
        others = (count - valid.long()).clamp(min=1)
        return (zeroed.sum(dim=1, keepdim=True) - zeroed) / others, valid & (count > 1)


@register_baseline("beam_mean")
class BeamMeanBaseline(Baseline):
    """The mean reward of the video's valid beams, each one included (the BLIP-2 video captioning paper)."""

    rollouts = ("beam",)
    min_generations = 2

    def __call__(self, rewards, valid, greedy_rewards=None):
        zeroed, count = torch.where(valid, rewards, 0.0), valid.sum(dim=1, keepdim=True)
        return (zeroed.sum(dim=1, keepdim=True) / count.clamp(min=1)).expand_as(rewards), valid


@register_baseline("none")
class NoBaseline(Baseline):
    """Zero: for rewards that carry their own baseline (WTF-RL's contrastive reward)."""

    def __call__(self, rewards, valid, greedy_rewards=None):
        return torch.zeros_like(rewards), valid


def compute_baselines(rewards: torch.Tensor, kind: str | Baseline, greedy_rewards: torch.Tensor | None = None, valid: torch.Tensor | None = None):
    """Each caption's baseline for rewards (B, K) of K captions per video, by a registered baseline's name (or a
    `Baseline`). Returns ``(baselines, valid)``, both (B, K): ``valid`` is False where a caption or its baseline is
    unusable, and the baseline there is 0."""
    if valid is None:
        valid = torch.ones_like(rewards, dtype=torch.bool)
    baseline = get_baseline(kind) if isinstance(kind, str) else kind
    baselines, valid = baseline(rewards, valid, greedy_rewards)
    return torch.where(valid, baselines, torch.zeros_like(baselines)), valid


def scale_advantages(advantages: torch.Tensor, rewards: torch.Tensor, valid: torch.Tensor, mode: str, eps: float = 1e-4, batch_std=None):
    """Divide advantages (B, K) by the standard deviation of the rewards: per video (``"group"``) or over the
    batch (``"batch"``; ``batch_std`` overrides it, e.g. computed over all processes). Equal rewards give a std of
    0 and advantages of 0 / eps = 0, never NaN."""
    if mode == "none":
        return advantages
    if mode == "group":
        count = valid.sum(dim=1, keepdim=True).clamp(min=1)
        mean = torch.where(valid, rewards, 0.0).sum(dim=1, keepdim=True) / count
        var = (torch.where(valid, rewards - mean, 0.0) ** 2).sum(dim=1, keepdim=True) / (count - 1).clamp(min=1)
        std = var.sqrt()
    elif mode == "batch":
        std = batch_std if batch_std is not None else rewards[valid].std() if valid.sum() > 1 else torch.tensor(0.0)
    else:
        raise ValueError(f"unknown scale_rewards {mode!r}.")
    return advantages / (std + eps)


def diversity_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """Sequence-level exploration (Chen & Jin, eq. 16) advantages from the diversity rewards (B, K) of
    `get_diversity_reward`, ``r_j = (2 / K) sum_k d(y_j, y_k)``. The paper's baseline b = ``(1 / K^2) sum_j sum_k
    d(y_j, y_k)`` applies to every pair term: ``(2 / K) sum_k (d(y_j, y_k) - b) = r_j - 2 b``, and ``2 b`` is the
    mean of the video's K rewards, so the advantage is the reward minus its video's mean."""
    return rewards - rewards.mean(dim=1, keepdim=True)


__all__ = [
    "BASELINES", "Baseline", "compute_baselines", "diversity_advantages", "get_baseline", "register_baseline", "scale_advantages",
]
