"""ROUGE-L as pycocoevalcap's ``Rouge`` computes it: per caption, the LCS precision and recall against each
reference, the best of each over the references, combined as an F-measure with beta = 1.2; the corpus score
is the mean over captions. Captions are split on whitespace; tokenise beforehand."""

from __future__ import annotations

from collections.abc import Sequence


def longest_common_subsequence(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a) * len(b)) time, O(len(b)) memory)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if token == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def sentence_rouge_l(candidate: str, references: Sequence[str], beta: float = 1.2) -> float:
    """ROUGE-L F of one caption: ``(1 + b^2) P R / (R + b^2 P)`` with P, R the best LCS precision and recall over
    the references (each maximised separately, as pycocoevalcap does). An empty caption scores 0.

    Example:
        >>> from hf_vidcap.metrics import sentence_rouge_l
        >>> round(sentence_rouge_l("a red circle moves left", ["a red circle moves to the left"]), 4)
        0.809
    """
    if isinstance(references, str) or len(references) == 0:
        raise ValueError("references is empty; ROUGE-L needs at least one reference caption per candidate.")
    if not beta > 0:
        raise ValueError(f"beta ({beta}) must be positive.")
    tokens = candidate.split()
    if not tokens:
        return 0.0
    precision = recall = 0.0
    for reference in references:
        reference_tokens = reference.split()
        if not reference_tokens:
            continue
        lcs = longest_common_subsequence(tokens, reference_tokens)
        precision = max(precision, lcs / len(tokens))
        recall = max(recall, lcs / len(reference_tokens))
    if precision == 0 or recall == 0:
        return 0.0
    return (1 + beta**2) * precision * recall / (recall + beta**2 * precision)


def corpus_rouge_l(candidates: Sequence[str], references: Sequence[Sequence[str]], beta: float = 1.2) -> tuple[float, list[float]]:
    """Mean ROUGE-L over a corpus. Returns ``(mean, per_caption_scores)``."""
    if len(candidates) != len(references):
        raise ValueError(f"got {len(candidates)} candidates but {len(references)} reference lists; pass one list per candidate.")
    scores = []
    for i, (candidate, refs) in enumerate(zip(candidates, references)):
        if isinstance(refs, str) or len(refs) == 0:
            raise ValueError(f"sample {i} has no reference captions; every sample needs a non-empty list of strings.")
        scores.append(sentence_rouge_l(candidate, refs, beta))
    return (sum(scores) / len(scores) if scores else 0.0), scores
