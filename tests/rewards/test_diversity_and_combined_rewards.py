import math

import pytest

from hf_vidcap.rewards import bleu_distance, combine_rewards, get_bleu_reward, get_cider_d_reward, get_diversity_reward


def test_bleu_distance_hand_computed():
    # "a red circle" vs "a blue square": 1/3 unigrams, smoothed (0+1)/(2+1) bigrams, (0+1)/(1+1) trigrams, and
    # (0+1)/(0+1) 4-grams: BLEU-3 = (1/18)^(1/3), BLEU-4 = (1/18)^(1/4); d = 2 - BLEU-3 - BLEU-4 (same both ways).
    assert bleu_distance("a red circle", "a blue square") == pytest.approx(2 - (1 / 18) ** (1 / 3) - (1 / 18) ** (1 / 4))
    assert bleu_distance("a b c d", "a b c d") == 0.0
    assert bleu_distance("", "") == 0.0 and bleu_distance("", "a b") == 2.0
    assert bleu_distance("a b", "a b c d e") == pytest.approx(bleu_distance("a b c d e", "a b"))  # symmetric


def test_diversity_reward_groups_by_video():
    d = 2 - (1 / 18) ** (1 / 3) - (1 / 18) ** (1 / 4)
    reward = get_diversity_reward()
    values = reward(["a red circle", "a red circle", "a blue square", "a green cross"], group_ids=[0, 0, 0, 1])
    # Video 0 (K=3): (2/3) * (0 + d), (2/3) * (0 + d), (2/3) * (d + d); video 1 has one sample: not applicable.
    assert values[:3] == pytest.approx([2 / 3 * d, 2 / 3 * d, 4 / 3 * d])
    assert values[3] is None
    with pytest.raises(ValueError, match="needs the column 'group_ids'"):
        reward(["a", "b"])
    with pytest.raises(ValueError, match="orders"):
        get_diversity_reward(orders=[])


def test_bleu_reward():
    # BLEU-2 of "a red circle moves left" against "a red circle moves to the left": exp(1 - 7/5) * sqrt(1 * 4/5).
    assert get_bleu_reward(n=2)(["a red circle moves left"], captions=[["a red circle moves to the left"]]) == pytest.approx(
        [math.exp(-0.4) * math.sqrt(0.8)]
    )
    with pytest.raises(ValueError, match="sample 0 has no reference captions"):
        get_bleu_reward()(["a"], captions=[[]])


def _constant(value, name):
    def reward(completions, **kwargs):
        return [value(i) if callable(value) else value for i in range(len(completions))]

    reward.__name__ = name
    return reward


def test_combined_reward_weighted_sum_none_and_logging():
    logged = {}
    combined = combine_rewards([_constant(2.0, "two"), _constant(lambda i: None if i == 0 else 1.0, "sometimes")], weights=[0.5, 3.0])
    # 0.5 * 2 (the second reward does not apply to completion 0), then 0.5 * 2 + 3 * 1.
    assert combined(["x", "y"], log_metric=logged.__setitem__) == [1.0, 4.0]
    assert logged == {"rewards/two/mean": 2.0, "rewards/sometimes/mean": 1.0}
    assert combine_rewards({"a": _constant(None, "n")})(["x"]) == [None]


def test_combined_reward_errors():
    nan = _constant(float("nan"), "broken")
    with pytest.raises(ValueError, match="reward 'broken' produced nan for completion 0 \\('x'\\)"):
        combine_rewards([nan])(["x"])
    with pytest.raises(ValueError, match="returned 1 values for 2 completions"):
        combine_rewards([lambda completions, **kw: [1.0]])(["x", "y"])
    with pytest.raises(ValueError, match="got 1 weights for 2 rewards"):
        combine_rewards([_constant(1.0, "a"), _constant(1.0, "b")], weights=[1.0])
    with pytest.raises(ValueError, match="are not rewards"):
        combine_rewards({"a": _constant(1.0, "a")}, weights={"b": 1.0})
    with pytest.raises(ValueError, match="distinct"):
        combine_rewards([_constant(1.0, "a"), _constant(1.0, "a")])


def test_rewards_work_as_trl_reward_funcs():
    # TRL calls f(prompts=..., completions=..., completion_ids=..., **columns, trainer_state=..., log_metric=...).
    kwargs = dict(prompts=["p", "p"], completion_ids=[[1], [2]], trainer_state=None, log_metric=lambda *a: None, log_extra=lambda *a: None)
    cider = get_cider_d_reward()
    assert len(cider(completions=["a red circle", "a square"], captions=[["a red circle"], ["a blue square"]], **kwargs)) == 2
    # Conversational completions (lists of messages) are read too.
    messages = [[{"role": "assistant", "content": "a red circle"}], [{"role": "assistant", "content": "a square"}]]
    assert get_bleu_reward()(completions=messages, captions=[["a red circle"], ["a square"]], **kwargs) == pytest.approx(
        get_bleu_reward()(["a red circle", "a square"], captions=[["a red circle"], ["a square"]])
    )
