"""Diversity of generated captions.

Set-level metrics of sequence-level exploration (Chen & Jin, sec. 5, after Wang et al. 2017), computed on the
set of captions generated for one video (K samples or the top-K beams) and averaged over videos:

- Div-n: the number of distinct n-grams in the set divided by the number of words in the set (higher: more
  diverse);
- mBLEU-n: BLEU-n of each caption against the other captions of its set, averaged (lower: more diverse).

Corpus-level metrics (WTF-RL, Texygen):

- Self-BLEU-n: BLEU-n of each caption against every other caption of the corpus (one caption per video),
  averaged (lower: more diverse);
- vocabulary size: the number of distinct words used.

BLEU here is pycocoevalcap's BLEU of a single caption (its smoothing constants, closest reference length).
Captions are split on whitespace; tokenise beforehand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .bleu import bleu_from_counts
from .cider import ngram_counts


def _check_sets(caption_sets, name: str, minimum: int = 1) -> None:
    if isinstance(caption_sets, str) or len(caption_sets) == 0:
        raise ValueError(f"{name} needs a non-empty list of caption sets (one list of captions per video).")
    for i, captions in enumerate(caption_sets):
        if isinstance(captions, str) or len(captions) < minimum:
            raise ValueError(
                f"video {i} has {0 if isinstance(captions, str) else len(captions)} captions; {name} needs a list of at "
                f"least {minimum} captions per video (generate several with num_return_sequences)."
            )


def distinct_ngrams(caption_sets: Sequence[Sequence[str]], n: int = 1) -> float:
    """Div-n averaged over videos: distinct n-grams in each video's caption set / words in that set (0 for a set
    with no words).

    Example:
        >>> from hf_vidcap.metrics import distinct_ngrams
        >>> distinct_ngrams([["a red circle", "a blue circle"]], n=1)  # {a, red, blue, circle} / 6 words
        0.6666666666666666
    """
    if n < 1:
        raise ValueError(f"n ({n}) must be >= 1.")
    _check_sets(caption_sets, f"Div-{n}")
    values = []
    for captions in caption_sets:
        words = sum(len(c.split()) for c in captions)
        grams = set()
        for caption in captions:
            tokens = caption.split()
            grams.update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        values.append(len(grams) / words if words else 0.0)
    return sum(values) / len(values)


def _bleu_against(candidate: str, max_ref_counts: dict, ref_length: int, n: int) -> list[float]:
    length = len(candidate.split())
    correct = [0] * n
    for gram, count in ngram_counts(candidate, n).items():
        correct[len(gram) - 1] += min(max_ref_counts.get(gram, 0), count)
    guess = [max(0, length - k) for k in range(n)]
    return bleu_from_counts(correct, guess, length, ref_length)


def _closest_length(length: int, lengths: Counter) -> int:
    # The closest reference length, the shorter one on ties (as pycocoevalcap's BLEU).
    return min((abs(other - length), other) for other, count in lengths.items() if count > 0)[1]


def _leave_one_out_bleu(captions: Sequence[str], n: int) -> list[float]:
    """BLEU-n of each caption against all the others, in O(total n-grams): for every n-gram the two largest counts
    over captions are kept, so the largest count among "the others" is known without re-scanning them."""
    counts = [ngram_counts(c, n) for c in captions]
    top: dict = {}  # gram -> (largest count, index of its caption, second largest count)
    for i, grams in enumerate(counts):
        for gram, count in grams.items():
            first, owner, second = top.get(gram, (0, -1, 0))
            if count > first:
                top[gram] = (count, i, first)
            elif count > second:
                top[gram] = (first, owner, count)
    lengths = Counter(len(c.split()) for c in captions)
    scores = []
    for i, caption in enumerate(captions):
        own = {}
        for gram in counts[i]:
            first, owner, second = top[gram]
            own[gram] = second if owner == i else first
        length = len(caption.split())
        lengths[length] -= 1
        scores.append(_bleu_against(caption, own, _closest_length(length, lengths), n)[n - 1])
        lengths[length] += 1
    return scores


def mbleu(caption_sets: Sequence[Sequence[str]], n: int = 4) -> float:
    """mBLEU-n: in each video's caption set, BLEU-n of every caption against the rest; the mean over captions, then
    over videos. Needs at least two captions per video.

    Example:
        >>> from hf_vidcap.metrics import mbleu
        >>> round(mbleu([["a red circle moves left", "a red circle moves left"]]), 6)  # identical captions
        1.0
    """
    if n < 1:
        raise ValueError(f"n ({n}) must be >= 1.")
    _check_sets(caption_sets, f"mBLEU-{n}", minimum=2)
    per_video = [sum(s) / len(s) for s in (_leave_one_out_bleu(list(c), n) for c in caption_sets)]
    return sum(per_video) / len(per_video)


def self_bleu(captions: Sequence[str], n: int = 4) -> float:
    """Self-BLEU-n: BLEU-n of each caption against every other caption of the corpus, averaged.

    Example:
        >>> from hf_vidcap.metrics import self_bleu
        >>> round(self_bleu(["a red circle moves left", "a blue square grows", "a red circle moves left"], n=2), 4)
        0.6667
    """
    if isinstance(captions, str) or len(captions) < 2:
        raise ValueError("Self-BLEU needs a list of at least two captions.")
    scores = _leave_one_out_bleu(list(captions), n)
    return sum(scores) / len(scores)


def distinct_twin_pairs(captions: Sequence[str], video_ids: Sequence, pair_ids: Sequence) -> float:
    """Share (percent) of near-duplicate pairs whose two captions differ after `normalize_caption`: a captioner
    that tells twins apart (clips that differ in one attribute; shapes world ``pair_id``) writes different
    captions for them. ``pair_ids[i]`` is the twin's video id, or empty / None for a clip without one; pairs
    whose twin is not among ``video_ids`` are left out.

    Example:
        >>> distinct_twin_pairs(["a red circle", "a blue circle", "a square"], ["v0", "v0_twin", "v1"], ["v0_twin", "v0", ""])
        100.0
    """
    from .text import normalize_caption

    if not len(captions) == len(video_ids) == len(pair_ids):
        raise ValueError(f"captions ({len(captions)}), video_ids ({len(video_ids)}) and pair_ids ({len(pair_ids)}) must have the same length.")
    caption_of = {video: normalize_caption(caption) for video, caption in zip(video_ids, captions)}
    pairs = {tuple(sorted((str(v), str(p)))) for v, p in zip(video_ids, pair_ids) if p and p in caption_of}
    if not pairs:
        raise ValueError("no near-duplicate pair has both clips captioned; the split needs pair_id links (shapes world near_duplicate_prob > 0).")
    return 100.0 * sum(caption_of[a] != caption_of[b] for a, b in pairs) / len(pairs)


def vocabulary_size(captions: Sequence[str]) -> int:
    """The number of distinct words in the captions."""
    if isinstance(captions, str):
        raise ValueError("captions must be a list of strings, not one string.")
    return len({word for caption in captions for word in caption.split()})
