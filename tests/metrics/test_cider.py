import math
import pickle

import numpy as np
import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from hf_vidcap.metrics import CiderD, corpus_bleu, document_frequencies

# A fixed corpus with the edge cases CIDEr-D implementations get wrong.
REFERENCES = [
    ["a red circle moves left", "the red circle slides left", "a red circle is moving to the left"],
    ["a blue square grows", "a blue square gets bigger"],
    ["a green cross spins"],  # a single reference
    ["hello , world .", "hello world !"],  # punctuation tokens
    ["a a a a b b", "a b c d e f g h i j k l m n o p q r s t u v w"],
    ["the cat sat on the mat", "a cat is sitting on a mat", "there is a cat on the mat"],
]
CANDIDATES = [
    "a red circle moves left",  # exact match of one reference
    "",  # empty caption
    "a green cross spins spins spins spins",  # repeated words
    "hello , world",
    " ".join(["a"] * 40),  # very long caption
    "a dog on the mat",
]


def _pycoco(candidates, references):
    gts = {i: refs for i, refs in enumerate(references)}
    res = {i: [c] for i, c in enumerate(candidates)}
    return Cider().compute_score(gts, res)


def test_cider_d_equals_pycocoevalcap():
    expected_mean, expected = _pycoco(CANDIDATES, REFERENCES)
    mean, scores = CiderD().compute_score(CANDIDATES, REFERENCES)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9)
    assert math.isclose(mean, expected_mean, abs_tol=1e-9)
    assert scores[1] == 0.0  # the empty caption shares no n-gram with anything


def test_cider_d_fixed_document_frequencies_match_corpus_mode_on_the_same_corpus():
    # Fixed mode with frequencies counted over the very references being scored is corpus mode.
    fixed = CiderD.from_corpus(REFERENCES)
    np.testing.assert_allclose(fixed.compute_score(CANDIDATES, REFERENCES)[1], _pycoco(CANDIDATES, REFERENCES)[1], atol=1e-9)
    # ...and, unlike corpus mode, a sample's score does not depend on the rest of the batch.
    alone = fixed.compute_score(CANDIDATES[:1], REFERENCES[:1])[1][0]
    assert alone == pytest.approx(fixed.compute_score(CANDIDATES, REFERENCES)[1][0], abs=1e-12)
    # Cached reference vectors give the same result on a second call.
    np.testing.assert_array_equal(fixed.compute_score(CANDIDATES, REFERENCES)[1], fixed.compute_score(CANDIDATES, REFERENCES)[1])


def test_document_frequencies_count_videos_not_captions():
    df = document_frequencies([["a b", "a c"], ["a"]], n=2)
    assert df[("a",)] == 2  # in both videos (twice in the first, counted once)
    assert df[("a", "b")] == 1


def test_bleu_equals_pycocoevalcap():
    gts = {i: refs for i, refs in enumerate(REFERENCES)}
    res = {i: [c] for i, c in enumerate(CANDIDATES)}
    expected, _ = Bleu(4).compute_score(gts, res, verbose=0)
    np.testing.assert_allclose(corpus_bleu(CANDIDATES, REFERENCES), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("score", [lambda c, r: CiderD().compute_score(c, r), corpus_bleu])
def test_mismatched_lengths_and_empty_references_are_rejected(score):
    with pytest.raises(ValueError, match="2 candidates but 1 reference lists"):
        score(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="sample 1 has no reference captions"):
        score(["a", "b"], [["a"], []])


def test_bad_parameters():
    with pytest.raises(ValueError, match="sigma"):
        CiderD(sigma=0)
    with pytest.raises(ValueError, match="together"):
        CiderD(document_frequency=document_frequencies([["a"]]))
    with pytest.raises(ValueError, match="references is empty"):
        CiderD.from_corpus([])


def test_document_frequencies_round_trip_through_a_counter():
    # Frequencies read back as a Counter of n-gram tuples and passed to the constructor score the same.
    fixed = CiderD.from_corpus(REFERENCES)
    assert fixed.document_frequency == document_frequencies(REFERENCES)
    rebuilt = CiderD(document_frequency=fixed.document_frequency, num_documents=fixed.num_documents)
    np.testing.assert_allclose(rebuilt.compute_score(CANDIDATES, REFERENCES)[1], fixed.compute_score(CANDIDATES, REFERENCES)[1], atol=1e-12)


def test_cached_reference_vectors_are_kept_per_list_dropped_oldest_first_and_not_pickled():
    fixed = CiderD.from_corpus(REFERENCES, reference_cache_entries=100)
    recomputing = CiderD.from_corpus(REFERENCES, reference_cache_entries=0)
    novel = [["an unseen word here", "an unseen word there"]]  # words the document frequencies never saw
    for candidates, references in [(CANDIDATES, REFERENCES), (["an unseen word"], novel), (CANDIDATES[:2], REFERENCES[:2])]:
        expected = recomputing.compute_score(candidates, references)[1]
        np.testing.assert_allclose(fixed.compute_score(candidates, references)[1], expected, rtol=0, atol=1e-12)
        assert fixed._reference_cache_size <= 100
    # Most recently used last; the first lists of the first call were dropped to stay within 100 entries.
    assert list(fixed._reference_cache)[-2:] == [tuple(REFERENCES[0]), tuple(REFERENCES[1])]
    assert tuple(REFERENCES[3]) not in fixed._reference_cache
    assert "unseen" in fixed._vocab  # a cached reference's words keep their ids...
    restored = pickle.loads(pickle.dumps(fixed))
    assert restored._reference_cache == {} and "unseen" not in restored._vocab  # ...but do not travel
    np.testing.assert_allclose(restored.compute_score(["an unseen word"], novel)[1], recomputing.compute_score(["an unseen word"], novel)[1], atol=1e-12)
    fixed.clear_reference_cache()
    assert fixed._reference_cache == {} and "unseen" not in fixed._vocab
    with pytest.raises(ValueError, match="reference_cache_entries"):
        CiderD(reference_cache_entries=-1)


def test_cached_reference_words_start_over_before_the_packing_limit():
    # n = 8 packs an n-gram into 64 bits with word ids below 234: once the cached references' words take more than
    # half of what the document-frequency words leave, the cache and those words are dropped, and scores stay those
    # of a recomputing scorer.
    fixed = CiderD.from_corpus(REFERENCES, n=8)
    recomputing = CiderD.from_corpus(REFERENCES, n=8, reference_cache_entries=0)
    assert fixed._base == 234
    for call in range(30):
        references = [[" ".join(f"w{call}x{i}" for i in range(j, j + 5)) for j in range(0, 10, 5)], REFERENCES[0]]
        candidates = [references[0][0], "a red circle moves left"]
        np.testing.assert_allclose(
            fixed.compute_score(candidates, references)[1], recomputing.compute_score(candidates, references)[1], atol=1e-12
        )
        assert len(fixed._vocab) - fixed._df_vocab_size <= (fixed._base - fixed._df_vocab_size) // 2 + 10
    assert "w0x0" not in fixed._vocab and "w29x0" in fixed._vocab  # started over at least once
