"""Caption normalisation shared by the rewards and the evaluation, so both score the same tokens."""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[^\w\s']|_")


def normalize_caption(text: str) -> str:
    """Lower-case, punctuation removed, whitespace collapsed: the tokenisation captions are scored with
    (close to pycocoevalcap's PTB tokenizer for plain English captions, without Java)."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def normalize_corpus(predictions, references) -> tuple[list[str], list[list[str]]]:
    """`normalize_caption` applied to one caption per sample and to each sample's reference captions."""
    return [normalize_caption(p) for p in predictions], [[normalize_caption(r) for r in refs] for refs in references]
