"""Every public reward's docstring example runs offline (tiny random models) and prints what it says."""

import doctest
import importlib

import pytest

MODULES = [
    "hf_vidcap.metrics.bleu",
    "hf_vidcap.metrics.diversity",
    "hf_vidcap.metrics.retrieval",
    "hf_vidcap.metrics.rouge",
    "hf_vidcap.metrics.zero_shot",
    "hf_vidcap.rewards.cider_rewards",
    "hf_vidcap.rewards.classification_rewards",
    "hf_vidcap.rewards.clip_rewards",
    "hf_vidcap.rewards.combined_rewards",
    "hf_vidcap.rewards.contrastive_rewards",
    "hf_vidcap.rewards.discriminator_rewards",
    "hf_vidcap.rewards.diversity_rewards",
    "hf_vidcap.rewards.grammar_rewards",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_public_reward_factory_has_an_example():
    import hf_vidcap.rewards as rewards

    for name in rewards.__all__:
        if name.startswith("get_") or name in ("combine_rewards", "perturb_caption", "bleu_distance"):
            assert ">>>" in (getattr(rewards, name).__doc__ or ""), f"{name} has no runnable example"
