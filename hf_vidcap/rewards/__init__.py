"""Rewards following TRL's ``reward_funcs`` contract.

A reward is a callable ``reward(completions, **columns) -> list[float | None]``: it receives the generated
captions plus every dataset column of their samples (repeated once per completion) and the trainer's extras
(``prompts``, ``completion_ids``, ``trainer_state``, TRL's ``log_metric``) as keyword arguments, and returns one
float per completion (`None` = not applicable). It only scores: baselines and advantages belong to the trainer.
Each callable carries a ``__name__`` used for logging as ``rewards/<name>/mean``. Factories ``get_<name>_reward``
return picklable callable classes, so rewards travel to other processes.

Two additions to TRL's contract, which `VideoSCSTTrainer` provides:

* ``group_ids``: which video each completion belongs to (the K samples of a video share one), so that group
  rewards (diversity, contrastive) see all samples of a video; ``greedy_completions``: the greedy caption of each
  completion's video.
* ``video_frames``: each completion's decoded frames (uint8, T x H x W x 3; the K samples of a video share one
  array) and ``video_id``. Video-aware rewards (CLIP-S, CLIP-R, contrastive) encode each video once per run and
  cache it by ``video_id`` (or by a digest of the frames), or read a precomputed embedding column instead.

Rewards with state updated during training (the WTF-RL discriminator) set ``online_update = True`` and expose
``update(human=..., generated=...)``, which the trainer calls once per step. Rewards with a ``state_dict()`` /
``load_state_dict()`` pair have that state saved in every checkpoint (one file per process) and restored on resume.
The trainer generates greedy captions for rewards that set ``uses_greedy_completions = True`` even when its
baseline does not need them.
"""

from .cider_rewards import get_cider_d_reward
from .classification_rewards import get_class_reward
from .clip_rewards import VideoEmbeddingCache, get_clip_r_reward, get_clip_score_reward
from .combined_rewards import combine_rewards
from .contrastive_rewards import VideoBank, get_contrastive_reward
from .discriminator_rewards import TextEmbeddingDiscriminator, get_discriminator_reward
from .diversity_rewards import bleu_distance, get_bleu_reward, get_diversity_reward
from .grammar_rewards import (
    PERTURBATIONS,
    GrammarDiscriminator,
    get_grammar_discriminator_reward,
    get_mlm_grammar_reward,
    perturb_caption,
    train_grammar_discriminator,
)
from .registry import REWARDS, build_rewards

__all__ = [
    "REWARDS",
    "build_rewards",
    "PERTURBATIONS",
    "GrammarDiscriminator",
    "TextEmbeddingDiscriminator",
    "VideoBank",
    "VideoEmbeddingCache",
    "bleu_distance",
    "combine_rewards",
    "get_bleu_reward",
    "get_cider_d_reward",
    "get_class_reward",
    "get_clip_r_reward",
    "get_clip_score_reward",
    "get_contrastive_reward",
    "get_discriminator_reward",
    "get_diversity_reward",
    "get_grammar_discriminator_reward",
    "get_mlm_grammar_reward",
    "perturb_caption",
    "train_grammar_discriminator",
]
