import pickle

import pytest

from hf_vidcap.metrics import CiderD
from hf_vidcap.rewards import get_cider_d_reward

TRAIN = [["a red circle moves left", "the red circle slides left"], ["a blue square grows", "a blue square expands"]]


def test_reward_follows_trl_contract():
    reward = get_cider_d_reward(TRAIN)
    assert reward.__name__ == "cider_d"
    completions = ["a red circle moves left", "a blue square grows"]
    # Extra columns and trainer extras arrive as keyword arguments and are ignored.
    values = reward(prompts=["", ""], completions=completions, captions=TRAIN, video_id=["v0", "v1"], trainer_state=None)
    expected = CiderD.from_corpus(TRAIN).compute_score(completions, TRAIN)[1]
    assert values == pytest.approx(list(expected), abs=1e-12)
    assert all(isinstance(v, float) for v in values)


def test_reward_accepts_conversational_completions():
    reward = get_cider_d_reward(TRAIN)
    plain = reward(completions=["a blue square grows"], captions=TRAIN[1:])
    chat = reward(completions=[[{"role": "assistant", "content": "a blue square grows"}]], captions=TRAIN[1:])
    assert plain == chat


def test_reward_names_missing_column_and_pickles():
    reward = get_cider_d_reward(TRAIN, references_column="refs")
    with pytest.raises(ValueError, match="dataset column 'refs'"):
        reward(completions=["a"], captions=[["a"]])
    clone = pickle.loads(pickle.dumps(reward))
    assert clone(completions=["a blue square grows"], refs=TRAIN[1:]) == reward(completions=["a blue square grows"], refs=TRAIN[1:])


def test_reward_rejects_bad_sigma():
    with pytest.raises(ValueError, match="sigma"):
        get_cider_d_reward(TRAIN, sigma=float("nan"))


def test_reward_normalises_like_the_evaluation():
    from hf_vidcap.evaluation import score_captions

    refs = [["A red circle moves left.", "The red circle, sliding left!"], ["a blue square grows"]]
    reward = get_cider_d_reward(refs)
    shouting = reward(completions=["a RED CIRCLE MOVES LEFT!!"], captions=refs[:1])
    plain = reward(completions=["a red circle moves left"], captions=refs[:1])
    assert shouting == plain and plain[0] > 0
    raw = get_cider_d_reward(refs, normalize=False)(completions=["a RED CIRCLE MOVES LEFT!!"], captions=refs[:1])
    assert raw == [0.0]  # no token in common with the raw references
    # In corpus mode, the reward equals the evaluation's per-sample CIDEr-D.
    corpus = get_cider_d_reward()(completions=["A red circle moves left", "a blue square"], captions=refs)
    expected = score_captions(["A red circle moves left", "a blue square"], refs)["cider_d"]
    assert sum(corpus) / 2 == pytest.approx(expected, abs=1e-12)
