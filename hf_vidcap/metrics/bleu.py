"""Corpus BLEU-1..4 as pycocoevalcap's ``Bleu`` computes it (``closest`` reference length, its smoothing
constants). Captions are split on whitespace; tokenise beforehand."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .cider import ngram_counts

_SMALL = 1e-9
_TINY = 1e-15  # keeps a zero-match precision at (almost) zero instead of dividing by zero


def corpus_bleu(candidates: Sequence[str], references: Sequence[Sequence[str]], n: int = 4) -> list[float]:
    """BLEU-1..``n`` of a corpus: clipped n-gram matches and brevity penalty summed over all samples.

    Returns:
        `list[float]` of length ``n``: element k-1 is BLEU-k.
    """
    if len(candidates) != len(references):
        raise ValueError(f"got {len(candidates)} candidates but {len(references)} reference lists; pass one list per candidate.")
    guess, correct = [0] * n, [0] * n
    test_length = ref_length = 0
    for i, (candidate, refs) in enumerate(zip(candidates, references)):
        if isinstance(refs, str) or len(refs) == 0:
            raise ValueError(f"sample {i} has no reference captions; every sample needs a non-empty list of strings.")
        max_ref_counts: dict = {}
        for ref in refs:
            for gram, count in ngram_counts(ref, n).items():
                max_ref_counts[gram] = max(max_ref_counts.get(gram, 0), count)
        length = len(candidate.split())
        test_length += length
        # The closest reference length, the shorter one on ties.
        ref_length += min((abs(len(r.split()) - length), len(r.split())) for r in refs)[1]
        for k in range(n):
            guess[k] += max(0, length - k)
        for gram, count in ngram_counts(candidate, n).items():
            correct[len(gram) - 1] += min(max_ref_counts.get(gram, 0), count)
    return bleu_from_counts(correct, guess, test_length, ref_length)


def bleu_from_counts(correct: Sequence[int], guess: Sequence[int], test_length: int, ref_length: int) -> list[float]:
    """BLEU-1..n from clipped match counts ``correct[k]`` and candidate (k+1)-gram counts ``guess[k]``, with
    pycocoevalcap's smoothing constants and brevity penalty."""
    scores, product = [], 1.0
    for k in range(len(correct)):
        product *= (correct[k] + _TINY) / (guess[k] + _SMALL)
        scores.append(product ** (1.0 / (k + 1)))
    ratio = (test_length + _TINY) / (ref_length + _SMALL)
    if ratio < 1:
        scores = [s * math.exp(1 - 1 / ratio) for s in scores]
    return scores


def sentence_bleu(candidate: str, references: Sequence[str], n: int = 4, smoothing: float = 1.0) -> list[float]:
    """BLEU-1..``n`` of one caption against its references, smoothed for use as a per-sample reward or distance.

    Corpus BLEU is zero for most single short captions (one missing 4-gram zeroes the geometric mean), so the
    k-gram precisions for k >= 2 are smoothed as in Lin & Och (2004, "BLEU+1"): ``(matches + s) / (total + s)``
    with ``s = smoothing``; the unigram precision is not smoothed. Brevity penalty against the closest reference
    length (the shorter on ties), as pycocoevalcap does.

    Args:
        candidate (`str`): the caption, words separated by whitespace.
        references (`list[str]`): at least one reference caption.
        n (`int`, *optional*, defaults to `4`): largest n-gram order.
        smoothing (`float`, *optional*, defaults to `1.0`): added to the numerator and denominator of the k >= 2
            precisions; `0` gives unsmoothed sentence BLEU.

    Returns:
        `list[float]` of length ``n``: element k-1 is BLEU-k, in [0, 1]. An empty candidate scores 0.

    Example:
        >>> from hf_vidcap.metrics import sentence_bleu
        >>> [round(b, 4) for b in sentence_bleu("a red circle moves left", ["a red circle moves to the left"])]
        [0.6703, 0.5996, 0.5654, 0.5331]
    """
    if isinstance(references, str) or len(references) == 0:
        raise ValueError("references is empty; sentence BLEU needs at least one reference caption.")
    if n < 1:
        raise ValueError(f"n ({n}) must be >= 1.")
    if not (smoothing >= 0 and math.isfinite(smoothing)):
        raise ValueError(f"smoothing ({smoothing}) must be a non-negative number.")
    length = len(candidate.split())
    if length == 0:
        return [0.0] * n
    max_ref_counts: dict = {}
    for ref in references:
        for gram, count in ngram_counts(ref, n).items():
            max_ref_counts[gram] = max(max_ref_counts.get(gram, 0), count)
    matches = [0] * n
    for gram, count in ngram_counts(candidate, n).items():
        matches[len(gram) - 1] += min(max_ref_counts.get(gram, 0), count)
    ref_length = min((abs(len(r.split()) - length), len(r.split())) for r in references)[1]
    brevity = 1.0 if length >= ref_length else math.exp(1 - ref_length / length)
    scores, log_sum = [], 0.0
    for k in range(n):
        total = max(length - k, 0)
        extra = smoothing if k > 0 else 0.0
        numerator, denominator = matches[k] + extra, total + extra
        if numerator == 0 or denominator == 0:
            # Zero matches at this order (unsmoothed) make this and every higher BLEU zero.
            scores.extend([0.0] * (n - k))
            break
        log_sum += math.log(numerator / denominator)
        scores.append(brevity * math.exp(log_sum / (k + 1)))
    return scores
