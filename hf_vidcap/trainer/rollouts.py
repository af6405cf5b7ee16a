"""Rollout strategies: how the K captions of each video are drawn from the captioner (sampling, beam search, or a
user's own), registered by name for ``VideoSCSTConfig(rollout=...)``::

    @register_rollout("sample_min3")
    class SampleAtLeastThreeWords(SampleRollout):
        def generation_config(self, processor, args):
            config = super().generation_config(processor, args)
            config.min_new_tokens = 3
            return config

Shapes: B videos, K = ``num_generations`` captions per video, L tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import GenerationConfig

from ..captioning import generate_captions, make_generation_config
from .registry import PartRegistry


@dataclass
class Rollouts:
    """The K captions drawn for every video of a batch, from one encoding; rows grouped by video (the K captions
    of video b are rows b*K .. b*K+K-1). N = B * K."""

    ids: torch.Tensor  # (N, L), trimmed after the end-of-sequence token
    mask: torch.Tensor  # (N, L)
    texts: list[str]  # (N,)
    num_generations: int  # K
    loss_visual: dict  # the visual input of the teacher-forced forward (video_embeds, frame_features or pixel_values)
    greedy_ids: torch.Tensor | None = None  # (B, L'), when a baseline or a reward asked for the greedy captions
    greedy_texts: list[str] | None = None  # (B,)

    @property
    def batch_size(self) -> int:
        return self.ids.shape[0] // self.num_generations

    @property
    def group_ids(self) -> list[int]:
        """Which video each row belongs to."""
        return [b for b in range(self.batch_size) for _ in range(self.num_generations)]

    def greedy_per_row(self, repeats: int) -> list[str]:
        """Each video's greedy caption, repeated for its ``repeats`` rows."""
        return [text for text in self.greedy_texts for _ in range(repeats)]


@dataclass
class Scores:
    """Rewards of one step's rollouts (B, K) and of what the baseline and the loss terms compare them with."""

    rewards: torch.Tensor  # (B, K) weighted sum of the reward functions
    per_func: torch.Tensor  # (N, F) each function's value, NaN where it returned None
    valid: torch.Tensor  # (B, K) usable rewards
    greedy_rewards: torch.Tensor | None = None  # (B,) NaN where unusable
    references: list[str] | None = None  # (B * G,) reference captions, when XE or weighted teacher forcing needs them
    reference_ids: list[list[int]] | None = None
    reference_rewards: torch.Tensor | None = None  # (B * G,) for weighted teacher forcing


class RolloutStrategy:
    """Draws K captions per video. Override `generation_config` (a `generate` setting) or `generate` (anything)."""

    name: str = ""

    def check_config(self, args) -> None:
        """Raise a `ValueError` naming the fix when ``args`` do not suit this strategy."""

    def generation_config(self, processor, args) -> GenerationConfig | None:
        """Built once by the trainer and passed to every `generate` call."""
        raise NotImplementedError

    def generate(
        self, captioner, processor, video_embeds: torch.Tensor, generation_config: GenerationConfig | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids, mask)`` of shape (B * K, L), grouped by video (the K captions of video b are rows b*K .. b*K+K-1),
        trimmed after the end-of-sequence token, for the visual inputs ``video_embeds`` (B, ...)."""
        return generate_captions(captioner, processor, video_embeds, generation_config)


ROLLOUTS = PartRegistry("rollout", RolloutStrategy)
register_rollout = ROLLOUTS.register
get_rollout = ROLLOUTS.create  # an instance of the rollout registered under a name


@register_rollout("sample")
class SampleRollout(RolloutStrategy):
    """K samples per video at ``temperature`` / ``top_k`` / ``top_p`` (SCST)."""

    def generation_config(self, processor, args) -> GenerationConfig:
        return make_generation_config(
            processor, args.max_completion_length, do_sample=True, temperature=args.temperature, top_k=args.top_k,
            top_p=args.top_p, num_return_sequences=args.num_generations,
        )


@register_rollout("beam")
class BeamRollout(RolloutStrategy):
    """The top K of ``num_beams`` beams per video (the BLIP-2 video captioning paper, ReGen)."""

    def check_config(self, args) -> None:
        if args.num_beams < args.num_generations:
            raise ValueError(
                f"num_beams ({args.num_beams}) must be >= num_generations ({args.num_generations}): beam rollouts "
                "return the top num_generations beams."
            )

    def generation_config(self, processor, args) -> GenerationConfig:
        return make_generation_config(
            processor, args.max_completion_length, num_beams=args.num_beams, num_return_sequences=args.num_generations,
            early_stopping=True,
        )


__all__ = ["ROLLOUTS", "BeamRollout", "RolloutStrategy", "Rollouts", "SampleRollout", "Scores", "get_rollout", "register_rollout"]
