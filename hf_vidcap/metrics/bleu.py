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
    scores, product = [], 1.0
    for k in range(n):
        product *= (correct[k] + _TINY) / (guess[k] + _SMALL)
        scores.append(product ** (1.0 / (k + 1)))
    ratio = (test_length + _TINY) / (ref_length + _SMALL)
    if ratio < 1:
        scores = [s * math.exp(1 - 1 / ratio) for s in scores]
    return scores
