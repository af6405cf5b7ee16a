"""ReGen's GRAMMAR-R, both variants (Sec. 3.2.3):

(a) masked-LM pseudo-log-likelihood (eq. 5): ``(1 / |U|) sum_j log L(u_j | U with u_j masked)``, with any
    `AutoModelForMaskedLM`; all |U| masked copies of all captions of a call are scored in chunked, batched forwards;
(b) a grammar discriminator d(w) (eq. 6): a binary classifier initialised from a CLIP text encoder, trained to
    tell captions from perturbed copies (tokens and groups of tokens swapped, shuffled, repeated, inserted,
    removed).
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._contract import check_finite, completion_text

# ----------------------------------------------------------------------------------- (a) masked-LM likelihood


def _caption_token_ids(tokenizer, captions: Sequence[str], max_length: int | None) -> list[tuple[list[int], list[int]]]:
    """Each caption's token ids with the tokenizer's added special tokens ([CLS]/[SEP], ...) around them, and the
    positions of the caption's own tokens (unknown words included: they are part of the caption)."""
    encoded = tokenizer(
        list(captions), truncation=max_length is not None, max_length=max_length, return_special_tokens_mask=True
    )
    return [
        (list(ids), [j for j, special in enumerate(mask) if not special])
        for ids, mask in zip(encoded["input_ids"], encoded["special_tokens_mask"])
    ]


class _MaskedLMGrammarReward:
    __name__ = "grammar_mlm"

    def __init__(self, model, tokenizer, chunk_size: int, max_length: int | None, device):
        if tokenizer.mask_token_id is None:
            raise ValueError("the tokenizer has no mask token; GRAMMAR-R (eq. 5) needs a masked language model's tokenizer.")
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.chunk_size = chunk_size
        self.max_length = max_length
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model.to(self.device)
        # An empty caption has no token to score: it gets the log-probability of a uniform guess.
        self.empty_score = -math.log(model.config.vocab_size)

    @torch.inference_mode()
    def scores(self, captions: Sequence[str]) -> list[float]:
        """The eq. 5 score of each caption."""
        encoded = _caption_token_ids(self.tokenizer, captions, self.max_length)
        token_ids = [ids for ids, _ in encoded]
        # One masked copy per scored token: (caption index, position).
        copies = [(i, j) for i, (_, positions) in enumerate(encoded) for j in positions]
        totals = [0.0] * len(captions)
        counts = [0] * len(captions)
        # Copies sorted by length so that each chunk pads little.
        copies.sort(key=lambda c: len(token_ids[c[0]]))
        mask_id, pad_id = self.tokenizer.mask_token_id, self.tokenizer.pad_token_id or 0
        for start in range(0, len(copies), self.chunk_size):
            chunk = copies[start : start + self.chunk_size]
            length = max(len(token_ids[i]) for i, _ in chunk)
            input_ids = torch.full((len(chunk), length), pad_id, dtype=torch.long)
            attention = torch.zeros((len(chunk), length), dtype=torch.long)
            for row, (i, j) in enumerate(chunk):
                ids = token_ids[i]
                input_ids[row, : len(ids)] = torch.tensor(ids)
                attention[row, : len(ids)] = 1
                input_ids[row, j] = mask_id
            positions = torch.tensor([j for _, j in chunk])
            targets = torch.tensor([token_ids[i][j] for i, j in chunk])
            logits = self.model(input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device)).logits
            rows = torch.arange(len(chunk), device=logits.device)
            picked = logits[rows, positions.to(logits.device)].float()  # (chunk, V): only the masked positions
            log_probs = torch.log_softmax(picked, dim=-1)[rows, targets.to(logits.device)].cpu()
            for (i, _), value in zip(chunk, log_probs.tolist()):
                totals[i] += value
                counts[i] += 1
        return [total / count if count else self.empty_score for total, count in zip(totals, counts)]

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        return check_finite(self.__name__, self.scores(texts), texts)


def _masked_lm_scores_one_by_one(model, tokenizer, captions: Sequence[str], max_length: int | None = None) -> list[float]:
    """Eq. 5 with one forward per masked token: the reference the batched reward is checked and timed against."""
    device = next(model.parameters()).device
    scores = []
    with torch.inference_mode():
        for ids, positions in _caption_token_ids(tokenizer, captions, max_length):
            values = []
            for j in positions:
                masked = torch.tensor([ids], device=device)
                masked[0, j] = tokenizer.mask_token_id
                logits = model(input_ids=masked).logits[0, j].float()
                values.append(torch.log_softmax(logits, dim=-1)[ids[j]].item())
            scores.append(sum(values) / len(values) if values else -math.log(model.config.vocab_size))
    return scores


def get_mlm_grammar_reward(model, tokenizer=None, chunk_size: int = 256, max_length: int | None = 128, device=None) -> _MaskedLMGrammarReward:
    """GRAMMAR-R_LM (ReGen eq. 5): the mean over a caption's tokens of ``log L(u_j | U with u_j masked)`` under a
    masked language model. All masked copies of all captions of a call are scored in batched forwards of
    ``chunk_size`` sequences (only the masked position's logits are normalised). The score is <= 0; an empty
    caption scores ``log(1 / vocab_size)``, a uniform guess.

    Args:
        model (`PreTrainedModel` or `str`): an `AutoModelForMaskedLM` (BERT, DistilBERT, DeBERTa, ...) or its name.
        tokenizer (*optional*): its tokenizer (loaded with the model when ``model`` is a name).
        chunk_size (`int`, *optional*, defaults to `256`): masked copies per forward.
        max_length (`int`, *optional*, defaults to `128`): captions are truncated to this many tokens.
        device (*optional*): where the model runs.

    Returns:
        A picklable callable named ``grammar_mlm``.

    Example:
        >>> from hf_vidcap.rewards import get_mlm_grammar_reward
        >>> from hf_vidcap.testing import tiny_masked_lm
        >>> model, tokenizer = tiny_masked_lm()
        >>> reward = get_mlm_grammar_reward(model, tokenizer)
        >>> scores = reward(["a red circle moves left", "left left moves a"])
        >>> len(scores), all(s < 0 for s in scores)
        (2, True)
    """
    if isinstance(model, str):
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        tokenizer = tokenizer or AutoTokenizer.from_pretrained(model)
        model = AutoModelForMaskedLM.from_pretrained(model)
    if tokenizer is None:
        raise ValueError("tokenizer is required when model is a model instance.")
    if chunk_size < 1:
        raise ValueError(f"chunk_size ({chunk_size}) must be >= 1.")
    return _MaskedLMGrammarReward(model, tokenizer, chunk_size, max_length, device)


# ----------------------------------------------------------------------------------- (b) grammar discriminator

PERTURBATIONS = ("swap", "shuffle", "repeat", "insert", "remove")


def perturb_caption(caption: str, kind: str, rng: random.Random, vocabulary: Sequence[str] = (), max_group: int = 3) -> str:
    """A grammatically broken copy of ``caption`` (ReGen Sec. 3.2.3): ``kind`` is one of `PERTURBATIONS`, applied
    to a single token or a group of up to ``max_group`` consecutive tokens.

    - ``swap``: exchange two tokens or two groups; ``shuffle``: shuffle the tokens of a group (or the caption);
    - ``repeat``: repeat a token or group in place; ``insert``: insert token(s) from ``vocabulary`` (default: the
      caption's own words); ``remove``: delete a token or group.

    The result differs from the caption whenever the caption allows it (a one-word caption cannot be swapped).

    Example:
        >>> import random
        >>> from hf_vidcap.rewards import perturb_caption
        >>> perturb_caption("a red circle moves left", "repeat", random.Random(0), max_group=1)
        'a red circle moves moves left'
    """
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; use one of {PERTURBATIONS}.")
    words = caption.split()
    if not words:
        return caption
    for _ in range(10):  # retry until the caption actually changes
        out = list(words)
        size = rng.randint(1, max(1, min(max_group, len(words))))
        start = rng.randrange(0, len(words) - size + 1)
        group = out[start : start + size]
        if kind == "swap" and len(words) >= 2:
            others = [o for o in range(len(words) - size + 1) if abs(o - start) >= size]  # non-overlapping groups
            if others:
                a, b = sorted((start, rng.choice(others)))
                out = out[:a] + out[b : b + size] + out[a + size : b] + out[a : a + size] + out[b + size :]
            else:
                i, j = rng.sample(range(len(words)), 2)
                out[i], out[j] = out[j], out[i]
        elif kind == "shuffle":
            if size < 2:
                start, size = 0, len(words)
                group = list(words)
            rng.shuffle(group)
            out[start : start + size] = group
        elif kind == "repeat":
            out[start:start] = group
        elif kind == "insert":
            pool = list(vocabulary) or words
            out[start:start] = [rng.choice(pool) for _ in range(size)]
        elif kind == "remove" and len(words) >= 2:
            size = min(size, len(words) - 1)
            del out[start : start + size]
        result = " ".join(out)
        if result != caption:
            return result
    return " ".join(out)


class GrammarDiscriminator(nn.Module):
    """d(w): a CLIP text encoder with a linear head giving P(caption is well-formed) (ReGen eq. 6).

    Args:
        text_model: a transformers `CLIPTextModel` (or `CLIPModel`, whose text tower is taken), fine-tuned.
        tokenizer: its tokenizer.
    """

    def __init__(self, text_model, tokenizer):
        super().__init__()
        from transformers import CLIPModel

        if isinstance(text_model, CLIPModel):
            text_model = copy.deepcopy(text_model.text_model)  # the discriminator fine-tunes its own copy
        self.text_model = text_model
        self.tokenizer = tokenizer
        hidden = text_model.config.hidden_size
        self.head = nn.Linear(hidden, 1)
        nn.init.normal_(self.head.weight, std=hidden**-0.5)
        nn.init.zeros_(self.head.bias)

    @classmethod
    def from_pretrained(cls, name_or_path: str) -> GrammarDiscriminator:
        """Initialise from a CLIP checkpoint's text encoder (e.g. ``openai/clip-vit-base-patch16``)."""
        from transformers import AutoTokenizer, CLIPTextModel

        return cls(CLIPTextModel.from_pretrained(name_or_path), AutoTokenizer.from_pretrained(name_or_path))

    def forward(self, captions: Sequence[str]) -> torch.Tensor:
        """(N,) logits."""
        device = self.head.weight.device
        max_length = getattr(self.text_model.config, "max_position_embeddings", 77)
        tokens = self.tokenizer(list(captions), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        tokens = {k: v.to(device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        pooled = self.text_model(**tokens).pooler_output
        return self.head(pooled).squeeze(-1)


def train_grammar_discriminator(
    discriminator: GrammarDiscriminator,
    captions: Sequence[str],
    epochs: int = 10,
    learning_rate: float = 1e-4,
    batch_size: int = 256,
    perturbations: Sequence[str] = PERTURBATIONS,
    seed: int = 0,
) -> list[dict]:
    """Train d with binary cross-entropy: each caption (label 1) against a freshly perturbed copy (label 0) every
    epoch, AdamW (ReGen: 10 epochs, batch 256, lr 1e-4). Returns per-epoch ``{"loss", "accuracy"}``."""
    if not captions:
        raise ValueError("captions is empty; the grammar discriminator needs well-formed captions to learn from.")
    for kind in perturbations:
        if kind not in PERTURBATIONS:
            raise ValueError(f"unknown perturbation {kind!r}; use one of {PERTURBATIONS}.")
    rng = random.Random(seed)
    vocabulary = sorted({w for c in captions for w in c.split()})
    optimizer = torch.optim.AdamW([p for p in discriminator.parameters() if p.requires_grad], lr=learning_rate)
    history = []
    discriminator.train()
    for _ in range(epochs):
        negatives = [perturb_caption(c, rng.choice(list(perturbations)), rng, vocabulary) for c in captions]
        texts = list(captions) + negatives
        labels = [1.0] * len(captions) + [0.0] * len(negatives)
        order = list(range(len(texts)))
        rng.shuffle(order)
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            logits = discriminator([texts[i] for i in batch])
            target = torch.tensor([labels[i] for i in batch], device=logits.device)
            loss = F.binary_cross_entropy_with_logits(logits, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(batch)
            correct += ((logits > 0).float() == target).sum().item()
        history.append({"loss": total_loss / len(texts), "accuracy": correct / len(texts)})
    discriminator.eval()
    return history


class _GrammarDiscriminatorReward:
    __name__ = "grammar_discriminator"

    def __init__(self, discriminator: GrammarDiscriminator, batch_size: int):
        self.discriminator = discriminator.eval()
        self.batch_size = batch_size

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        values = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                values += torch.sigmoid(self.discriminator(texts[start : start + self.batch_size]).float()).tolist()
        return check_finite(self.__name__, values, texts)


def get_grammar_discriminator_reward(discriminator: GrammarDiscriminator, batch_size: int = 256) -> _GrammarDiscriminatorReward:
    """GRAMMAR-R_d (ReGen eq. 6): ``d(w)``, the discriminator's probability that the caption is well-formed.

    Args:
        discriminator (`GrammarDiscriminator`): trained with `train_grammar_discriminator`.
        batch_size (`int`, *optional*, defaults to `256`): captions per forward.

    Returns:
        A picklable callable named ``grammar_discriminator``.

    Example:
        >>> from hf_vidcap.rewards import GrammarDiscriminator, get_grammar_discriminator_reward, train_grammar_discriminator
        >>> from hf_vidcap.testing import tiny_clip
        >>> model, tokenizer, _ = tiny_clip()
        >>> discriminator = GrammarDiscriminator(model, tokenizer)
        >>> history = train_grammar_discriminator(discriminator, ["a red circle moves left"] * 8, epochs=2, batch_size=8)
        >>> reward = get_grammar_discriminator_reward(discriminator)
        >>> [0.0 < s < 1.0 for s in reward(["a red circle moves left", "left circle a a"])]
        [True, True]
    """
    return _GrammarDiscriminatorReward(discriminator, batch_size)
