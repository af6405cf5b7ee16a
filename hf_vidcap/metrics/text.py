"""Caption normalisation shared by the rewards and the evaluation, so both score the same tokens."""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[^\w\s']|_")


def normalize_caption(text: str) -> str:
    """Lower-case, punctuation removed, whitespace collapsed: the tokenisation captions are scored with
    (close to pycocoevalcap's PTB tokenizer for plain English captions, without Java)."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def normalize_corpus(predictions, references, sample_names=None) -> tuple[list[str], list[list[str]]]:
    """`normalize_caption` applied to one caption per sample and to each sample's reference captions.

    A reference with nothing left after normalisation ("...", emoji only) would silently score every caption 0
    against it: it is a `ValueError` naming the sample (``sample_names[i]`` when given, else its index).
    """
    normalized_references = []
    for i, refs in enumerate(references):
        normalized = [normalize_caption(r) for r in refs]
        for raw, clean in zip(refs, normalized):
            if not clean:
                name = sample_names[i] if sample_names is not None else i
                raise ValueError(
                    f"sample {name!r} has the reference {raw!r}, which is empty after normalisation (lower-case, no "
                    "punctuation); remove it from the dataset or replace it with a real caption."
                )
        normalized_references.append(normalized)
    return [normalize_caption(p) for p in predictions], normalized_references
