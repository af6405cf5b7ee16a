"""Property tests (hypothesis) for CIDEr-D and BLEU: equality with pycocoevalcap on random corpora, and invariants."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from hf_vidcap.metrics import CiderD, corpus_bleu, sentence_bleu
from hf_vidcap.metrics.cider import _ascii_tokens, _split_tokens

# A small alphabet makes repeated words and shared n-grams (the cases that need clipping) frequent.
words = st.sampled_from(["a", "b", "c", "dog", "red"])
sentences = st.lists(words, min_size=0, max_size=12).map(" ".join)
nonempty_sentences = st.lists(words, min_size=1, max_size=12).map(" ".join)
samples = st.tuples(sentences, st.lists(nonempty_sentences, min_size=1, max_size=4))
corpora = st.lists(samples, min_size=1, max_size=6)


def _tokenised_corpora(alphabet: list[str]):
    """Corpora whose words are separated by any whitespace str.split knows (also leading and trailing)."""
    separators = st.sampled_from([" ", " ", " ", "  ", "\t", "\n", "\r\n", "\x1f", "\x0b"])
    def text(min_size):
        parts = st.lists(st.tuples(separators, st.sampled_from(alphabet)), min_size=min_size, max_size=10)
        return st.tuples(parts, separators).map(lambda p: "".join(s + w for s, w in p[0]) + p[1])
    return st.lists(st.tuples(text(0), st.lists(text(1), min_size=1, max_size=4)), min_size=1, max_size=6)


# ASCII text is tokenised on its bytes (words of up to 8 bytes packed into an int64, longer ones as strings);
# other text by str.split. Both alphabets have words of 1-7, exactly 8 and more than 8 bytes.
ascii_words = ["a", "b", "dog", "red", "elephant", "elephants", "bicycling", "abcdefgh", "abcdefg"]
other_words = [*ascii_words, "café", "a\x00b", "x\x01"]  # non-ASCII, NUL and control characters stay in words
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _split(corpus):
    return [c for c, _ in corpus], [refs for _, refs in corpus]


def _cider_d_checked_against_pycocoevalcap(corpus) -> np.ndarray:
    """Corpus-mode CIDEr-D of ``corpus``, asserted equal to pycocoevalcap's (1e-9); returns the scores."""
    candidates, references = _split(corpus)
    expected_mean, expected = Cider().compute_score(
        {i: r for i, r in enumerate(references)}, {i: [c] for i, c in enumerate(candidates)}
    )
    mean, scores = CiderD().compute_score(candidates, references)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9)
    assert math.isclose(mean, expected_mean, abs_tol=1e-9)
    return scores


@SETTINGS
@given(corpora)
def test_cider_d_equals_pycocoevalcap_on_random_corpora(corpus):
    assert (_cider_d_checked_against_pycocoevalcap(corpus) >= 0).all()


@SETTINGS
@given(st.one_of(_tokenised_corpora(ascii_words), _tokenised_corpora(other_words)))
def test_cider_d_equals_pycocoevalcap_on_any_whitespace_and_word_length(corpus):
    _cider_d_checked_against_pycocoevalcap(corpus)


def test_byte_tokeniser_gives_each_word_one_code_whatever_follows_it():
    separators = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f"]
    sentences = [separator.join(ascii_words) + separator for separator in separators]
    sentences += ["".join(w + s for w, s in zip(ascii_words * 2, separators * 2)), "", "  "]
    codes, vocabulary, lengths = _ascii_tokens(" ".join(sentences), sentences)
    assert sorted(vocabulary) == sorted(set(ascii_words))
    assert [vocabulary[c] for c in codes] == [w for sentence in sentences for w in sentence.split()]
    assert lengths.tolist() == [len(sentence.split()) for sentence in sentences]


@SETTINGS
@given(st.lists(st.lists(st.sampled_from([*other_words, " ", "\t", "\n", "\x1c"]), max_size=12).map("".join), max_size=8))
def test_byte_tokeniser_splits_as_str_split(sentences):
    ascii_path = _ascii_tokens(" ".join(sentences), sentences)
    text = "".join(sentences)
    fast = text.isascii() and all(ch.isspace() or ord(ch) >= 32 for ch in text)
    assert (ascii_path is not None) == fast  # the byte path takes exactly the ASCII text without control characters
    expected = [sentence.split() for sentence in sentences]
    for codes, vocabulary, lengths in [_split_tokens(sentences), *([ascii_path] if ascii_path else [])]:
        assert [vocabulary[c] for c in codes] == [w for words in expected for w in words]
        assert lengths.tolist() == [len(words) for words in expected]
        assert len(set(vocabulary)) == len(vocabulary)  # one code per distinct word


@SETTINGS
@given(corpora, st.randoms(use_true_random=False))
def test_cider_d_fixed_mode_is_per_sample_and_order_free(corpus, random):
    candidates, references = _split(corpus)
    scorer = CiderD.from_corpus(references)
    scores = scorer.compute_score(candidates, references)[1]
    permutation = list(range(len(candidates)))
    random.shuffle(permutation)
    shuffled = scorer.compute_score([candidates[i] for i in permutation], [references[i] for i in permutation])[1]
    np.testing.assert_allclose(shuffled, scores[permutation], rtol=0, atol=1e-12)
    alone = [scorer.compute_score([c], [r])[1][0] for c, r in zip(candidates, references)]
    np.testing.assert_allclose(alone, scores, rtol=0, atol=1e-12)


# Fixed document frequencies from one corpus; batches drawn from another, with words the frequencies never saw.
other_words = st.sampled_from(["a", "b", "dog", "cat", "blue", "zz"])
batch_sentences = st.lists(other_words, min_size=0, max_size=10).map(" ".join)
batches = st.lists(st.tuples(batch_sentences, st.lists(batch_sentences, min_size=1, max_size=4)), min_size=1, max_size=8)


@SETTINGS
@given(corpora, st.lists(batches, min_size=1, max_size=4), st.integers(0, 40))
def test_cider_d_cached_references_score_as_recomputed_ones(corpus, calls, budget):
    # The references' vectors kept between calls (budget 0 = off; small budgets evict) never change a score.
    train = _split(corpus)[1]
    recomputing = CiderD.from_corpus(train, reference_cache_entries=0)
    caching = CiderD.from_corpus(train, reference_cache_entries=budget or 2**22)
    for batch in calls + calls:  # the second pass meets cached references
        candidates, references = _split(batch)
        expected = recomputing.compute_score(candidates, references)[1]
        np.testing.assert_allclose(caching.compute_score(candidates, references)[1], expected, rtol=0, atol=1e-12)
        assert caching._reference_cache_size <= caching.reference_cache_entries
        assert caching._reference_cache_size == sum(len(v.key) for v in caching._reference_cache.values())


@SETTINGS
@given(corpora)
def test_corpus_bleu_equals_pycocoevalcap_on_random_corpora(corpus):
    candidates, references = _split(corpus)
    expected, _ = Bleu(4).compute_score(
        {i: r for i, r in enumerate(references)}, {i: [c] for i, c in enumerate(candidates)}, verbose=0
    )
    np.testing.assert_allclose(corpus_bleu(candidates, references), expected, rtol=0, atol=1e-9)


@SETTINGS
@given(samples)
def test_sentence_bleu_is_a_bounded_score_and_one_on_a_reference(sample):
    candidate, references = sample
    scores = sentence_bleu(candidate, references)
    assert all(0.0 <= s <= 1.0 + 1e-12 for s in scores)
    assert sentence_bleu(references[0], references) == pytest.approx([1.0] * 4)
    # Unsmoothed, sentence BLEU is corpus BLEU of a one-sample corpus wherever every order has a match
    # (elsewhere pycocoevalcap's 1e-15 / 1e-9 constants leave tiny positive values where it is 0).
    corpus = corpus_bleu([candidate], [references])
    if len(candidate.split()) >= 4 and min(corpus) > 1e-2:
        np.testing.assert_allclose(sentence_bleu(candidate, references, smoothing=0), corpus, atol=1e-6)


def test_sentence_bleu_hand_computed():
    # candidate 5 words, closest reference 7: brevity exp(1 - 7/5) = 0.670320; precisions 5/5, (3+1)/(4+1),
    # (2+1)/(3+1), (1+1)/(2+1) -> BLEU-2 = 0.670320 * sqrt(0.8) = 0.599552.
    scores = sentence_bleu("a red circle moves left", ["a red circle moves to the left"])
    assert scores == pytest.approx([0.670320, 0.599552, 0.565370, 0.533086], abs=1e-6)
    assert sentence_bleu("", ["a b"]) == [0.0] * 4  # empty candidate
    assert sentence_bleu("x y", ["a b"]) == [0.0] * 4  # no unigram match: every order is zero
    with pytest.raises(ValueError, match="references is empty"):
        sentence_bleu("a", [])
