"""Rewards by name, for recipes and their YAML (TRL's ``grpo.py`` convention): ``reward_funcs`` lists registered
names or dotted paths to the user's own callables, ``reward_kwargs`` gives each its arguments, and
``reward_weights`` (in `VideoSCSTConfig`) weighs them::

    reward_funcs: [cider_d, clip_r, my_project.rewards.length_penalty]
    reward_kwargs:
      clip_r: {clip_model: openai/clip-vit-base-patch16}
      my_project.rewards.length_penalty: {target: 9}   # with arguments, a dotted path names a factory
    reward_weights: [1.0, 5.0, 0.1]

Every builder receives the training split (for rewards that fix statistics on it, like CIDEr-D's document
frequencies) and the references column.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .cider_rewards import get_cider_d_reward
from .classification_rewards import get_class_reward
from .clip_rewards import get_clip_r_reward, get_clip_score_reward
from .diversity_rewards import get_bleu_reward, get_diversity_reward
from .grammar_rewards import get_mlm_grammar_reward


def _cider_d(train_dataset, references_column: str, fixed_document_frequencies: bool = True, **kwargs):
    """CIDEr-D; document frequencies fixed once from the training references (SCST mode) unless turned off."""
    references = None
    if fixed_document_frequencies:
        if train_dataset is None:
            raise ValueError("reward 'cider_d' fixes its document frequencies on the training split; pass train_dataset.")
        references = train_dataset[references_column]
    return get_cider_d_reward(references, references_column, **kwargs)


def _bleu(train_dataset, references_column: str, **kwargs):
    return get_bleu_reward(references_column=references_column, **kwargs)


def _diversity(train_dataset, references_column: str, **kwargs):
    return get_diversity_reward(**kwargs)


def _embedder(name: str, clip_model=None, backend: str = "transformers"):
    if clip_model is None:
        raise ValueError(f"reward {name!r} needs clip_model in its reward_kwargs (e.g. openai/clip-vit-base-patch16).")
    from ..encoders import load_clip_embedder

    return load_clip_embedder(clip_model, backend)


def _clip_score(train_dataset, references_column: str, clip_model=None, backend: str = "transformers", **kwargs):
    return get_clip_score_reward(_embedder("clip_score", clip_model, backend), references_column=references_column, **kwargs)


def _clip_r(train_dataset, references_column: str, clip_model=None, backend: str = "transformers", **kwargs):
    return get_clip_r_reward(_embedder("clip_r", clip_model, backend), **kwargs)


def _cls_r(train_dataset, references_column: str, clip_model=None, backend: str = "transformers", label_column: str = "label", class_names=None, **kwargs):
    """CLS-R over the training split's classes (its ClassLabel feature) unless ``class_names`` are given."""
    if class_names is None:
        if train_dataset is None or label_column not in train_dataset.features:
            raise ValueError(f"reward 'cls_r' needs class_names, or a training split with a {label_column!r} ClassLabel column.")
        class_names = train_dataset.features[label_column]
    return get_class_reward(_embedder("cls_r", clip_model, backend), class_names, label_column=label_column, **kwargs)


def _contrastive(
    train_dataset, references_column: str, clip_model=None, backend: str = "transformers", num_mined: int = 0,
    bank_num_frames: int = 8, video_column: str = "video", id_column: str = "video_id", **kwargs,
):
    """WTF-RL's bidirectional contrastive reward; with ``num_mined > 0`` the similar videos are mined from a bank of
    the training split built here (decoded with ``bank_num_frames`` frames, once)."""
    from .contrastive_rewards import VideoBank, get_contrastive_reward

    embedder = _embedder("contrastive", clip_model, backend)
    bank = None
    if num_mined > 0:
        if train_dataset is None:
            raise ValueError("reward 'contrastive' with num_mined > 0 mines the training split; pass train_dataset.")
        bank = VideoBank.from_dataset(embedder, train_dataset, bank_num_frames, video_column, id_column)
    return get_contrastive_reward(
        embedder, references_column=references_column, video_bank=bank, num_mined=num_mined, id_column=id_column, **kwargs
    )


def _discriminator(train_dataset, references_column: str, clip_model=None, backend: str = "transformers", **kwargs):
    """WTF-RL's discriminator P_D (pre-train it with ``reward.pretrain_on_captioner`` before RL)."""
    from .discriminator_rewards import get_discriminator_reward

    return get_discriminator_reward(_embedder("discriminator", clip_model, backend), **kwargs)


def _grammar_mlm(train_dataset, references_column: str, model=None, **kwargs):
    if model is None:
        raise ValueError("reward 'grammar_mlm' needs model in its reward_kwargs (a masked-LM checkpoint, e.g. bert-base-uncased).")
    return get_mlm_grammar_reward(model, **kwargs)


REWARDS: dict[str, Callable] = {
    "cider_d": _cider_d,
    "bleu": _bleu,
    "diversity": _diversity,
    "clip_score": _clip_score,
    "clip_r": _clip_r,
    "cls_r": _cls_r,
    "grammar_mlm": _grammar_mlm,
    "contrastive": _contrastive,
    "discriminator": _discriminator,
}


def _import(path: str):
    module_name, _, attribute = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"reward {path!r}: cannot import it ({error}); give module.attribute of a callable.") from error


def build_rewards(reward_funcs, reward_kwargs: dict | None = None, train_dataset=None, references_column: str = "captions") -> list:
    """The reward callables for ``reward_funcs`` (registered names or dotted paths), built with ``reward_kwargs``.

    A dotted path is the reward itself, or, when ``reward_kwargs`` has arguments for it, a factory called with them.
    """
    names = [reward_funcs] if isinstance(reward_funcs, str) else list(reward_funcs or [])
    if not names:
        raise ValueError(f"reward_funcs is empty; name at least one of {list(REWARDS)} or a dotted path to your reward.")
    reward_kwargs = dict(reward_kwargs or {})
    unknown = set(reward_kwargs) - set(names)
    if unknown:
        raise ValueError(f"reward_kwargs has arguments for {sorted(unknown)}, which are not in reward_funcs {names}.")
    rewards = []
    for name in names:
        kwargs = dict(reward_kwargs.get(name) or {})
        if name in REWARDS:
            rewards.append(REWARDS[name](train_dataset, references_column, **kwargs))
        elif "." in name:
            target = _import(name)
            reward = target(**kwargs) if kwargs else target
            if not callable(reward):
                raise ValueError(f"reward {name!r} is {type(reward).__name__}, not a callable.")
            rewards.append(reward)
        else:
            raise ValueError(f"reward {name!r} is unknown; use one of {list(REWARDS)} or a dotted path (module.function).")
    return rewards


__all__ = ["REWARDS", "build_rewards"]
