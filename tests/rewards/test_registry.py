"""Rewards by name (hf_vidcap.rewards.build_rewards): registered names, dotted paths, their arguments."""

import datasets
import pytest

from hf_vidcap.rewards import build_rewards, get_cider_d_reward

TRAIN = datasets.Dataset.from_dict(
    {"captions": [["a red circle moves left", "the red circle slides left"], ["a blue square grows", "a blue square expands"]]}
)


def word_count(completions, **kwargs):
    return [float(len(c.split())) for c in completions]


def make_length_penalty(target):
    def length_penalty(completions, **kwargs):
        return [-abs(len(c.split()) - target) for c in completions]

    return length_penalty


def test_names_dotted_paths_and_factories():
    cider, bleu, mine, factory = build_rewards(
        ["cider_d", "bleu", f"{__name__}.word_count", f"{__name__}.make_length_penalty"],
        {"bleu": {"n": 2}, f"{__name__}.make_length_penalty": {"target": 3}},
        TRAIN,
    )
    candidates, refs = ["a red circle moves left", "a blue square"], TRAIN["captions"]
    # cider_d fixes its document frequencies on the training split: the same as building it by hand.
    assert cider(completions=candidates, captions=refs) == get_cider_d_reward(TRAIN["captions"])(completions=candidates, captions=refs)
    assert bleu.__name__ == "bleu_2" and bleu.n == 2
    assert mine is word_count and factory(completions=["a b c", "a"]) == [0, -2]


@pytest.mark.parametrize(
    "names, kwargs, match",
    [
        (["cider"], None, r"reward 'cider' is unknown; use one of \['cider_d', 'bleu'"),
        (["no_such_module.reward"], None, r"reward 'no_such_module.reward': cannot import it"),
        ([], None, "reward_funcs is empty"),
        (["bleu"], {"cider_d": {}}, r"reward_kwargs has arguments for \['cider_d'\], which are not in reward_funcs"),
        (["clip_r"], None, "reward 'clip_r' needs clip_model"),
    ],
)
def test_bad_reward_specs_are_named(names, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_rewards(names, kwargs, TRAIN)

