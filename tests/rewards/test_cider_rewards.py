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


def test_fixed_df_reward_keeps_memory_bounded_over_many_calls_with_new_words():
    # A sampling captioner (or a sub-word tokenizer) keeps producing words never seen before. The scorer used to keep
    # every word any call had seen and, past 55,107 of them, failed on every later call.
    reward = get_cider_d_reward(TRAIN)
    fixed_words = len(reward.scorer._vocab)
    references = [TRAIN[0]] * 2
    first = reward(completions=["a red circle moves left", "w0a w0b w0c"], captions=references)
    for call in range(10_000):
        fresh = [f"x{call}a x{call}b red x{call}c", f"y{call}a y{call}b y{call}c y{call}d"]
        assert reward(completions=fresh, captions=references)[1] == 0.0  # no n-gram shared with the references
    assert len(reward.scorer._vocab) == fixed_words  # only the document-frequency words stay
    assert reward(completions=["a red circle moves left", "w0a w0b w0c"], captions=references) == first
    # The document frequencies still decode to the training references' n-grams.
    assert reward.scorer.document_frequency[("red", "circle")] == 1


def test_a_reference_empty_after_normalisation_is_an_error_naming_the_sample():
    reward = get_cider_d_reward(TRAIN)
    with pytest.raises(ValueError, match=r"sample 'v1' has the reference '\.\.\.'.*empty after normalisation"):
        reward(completions=["a red circle", "a blue square"], captions=[TRAIN[0], ["a blue square", "..."]], video_id=["v0", "v1"])
    with pytest.raises(ValueError, match=r"sample 1 has the reference '🙂🙂'"):
        get_cider_d_reward([TRAIN[0], ["🙂🙂"]])


def test_each_videos_references_are_normalised_once(monkeypatch):
    """SCST samples the same videos every epoch: their references are normalised on first sight and reused (the
    reward then costs about what the bare scorer does, benchmarks/reward_speed.py), with the same scores."""
    import hf_vidcap.rewards.cider_rewards as module

    calls = []
    original = module.normalize_corpus
    monkeypatch.setattr(module, "normalize_corpus", lambda *a: calls.append(a) or original(*a))
    reward = get_cider_d_reward(TRAIN)
    calls.clear()  # (the training references' document frequencies)
    raw = [["A red circle moves LEFT!", "the red circle slides left"], ["a blue square grows", "a blue square expands."]]
    expected = CiderD.from_corpus(TRAIN).compute_score(["a red circle", "a blue square"], TRAIN)[1].tolist()
    for _ in range(3):  # three "epochs", K = 2 samples per video
        scores = reward(["a red circle", "A red circle", "a blue square", "a blue square"], captions=[raw[0], raw[0], raw[1], raw[1]])
        assert scores == pytest.approx([expected[0], expected[0], expected[1], expected[1]])
    assert len(calls) == 2  # once per video, not per sample or per call
    restored = pickle.loads(pickle.dumps(reward))
    assert restored._normalized_references == {} and restored(["a red circle"], captions=[raw[0]]) == pytest.approx([expected[0]])
    with pytest.raises(ValueError, match="must be a list of captions, not one string"):
        reward(["a red circle"], captions=["a red circle moves left"])
