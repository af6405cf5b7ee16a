"""WTF-RL's discriminator reward (Sec. 3.2): an MLP on frozen CLIP text embeddings gives P_D(x), the probability
that a caption was written by a human. Pre-trained on ground-truth vs generated captions, then updated online on
each batch (the trainer calls `update` once per step; TRL users can call it from a callback), so that it adapts to
what the captioner currently produces (GAN-style). Used as r_regu in r = alpha * r_bicont + (1 - alpha) * P_D.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._contract import check_finite, completion_text


class TextEmbeddingDiscriminator(nn.Module):
    """A 3-layer MLP (D -> hidden -> hidden -> 1) on CLIP text embeddings; returns logits."""

    def __init__(self, embedding_dim: int, hidden_size: int = 512, num_layers: int = 3, dropout: float = 0.0):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers ({num_layers}) must be >= 1.")
        layers: list[nn.Module] = []
        width = embedding_dim
        for _ in range(num_layers - 1):
            layers += [nn.Linear(width, hidden_size), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_size
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.mlp(embeddings).squeeze(-1)


class _DiscriminatorReward:
    __name__ = "discriminator"
    online_update = True  # the trainer calls update(human=..., generated=...) once per step

    def __init__(self, embedder, discriminator: TextEmbeddingDiscriminator, learning_rate: float, cache_size: int, seed: int):
        self.embedder = embedder
        self.discriminator = discriminator
        self.learning_rate = learning_rate
        self.optimizer = torch.optim.AdamW(discriminator.parameters(), lr=learning_rate)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._rng = random.Random(seed)

    def __getstate__(self):
        return {**self.__dict__, "_cache": OrderedDict()}

    def state_dict(self) -> dict:
        """What changes while training (saved in the trainer's checkpoints, so that a resumed run continues it)."""
        return {
            "discriminator": self.discriminator.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self._rng.getstate(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._rng.setstate(state["rng"])

    def _embed(self, texts: Sequence[str]) -> torch.Tensor:
        # Ground-truth captions come back every epoch: their embeddings are cached.
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, embedding in zip(missing, self.embedder.encode_text(missing)):
                self._cache[text] = embedding
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return torch.stack([self._cache[t] for t in texts])

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        self.discriminator.eval()
        with torch.inference_mode():
            return torch.sigmoid(self.discriminator(self._embed(texts))).float()

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        if not texts:
            return []
        return check_finite(self.__name__, self.probabilities(texts).tolist(), texts)

    def update(self, human: Sequence[str], generated: Sequence[str]) -> dict[str, float]:
        """One optimisation step of binary cross-entropy: human-written captions (label 1) vs generated (label 0)."""
        human, generated = [completion_text(t) for t in human], [completion_text(t) for t in generated]
        if not human or not generated:
            raise ValueError(
                f"update needs both human and generated captions (got {len(human)} and {len(generated)})."
            )
        embeddings = self._embed(human + generated)
        target = torch.cat([torch.ones(len(human)), torch.zeros(len(generated))])
        # Each class weighs the same however many captions it has.
        weight = torch.cat([torch.full((len(human),), 0.5 / len(human)), torch.full((len(generated),), 0.5 / len(generated))])
        self.discriminator.train()
        logits = self.discriminator(embeddings)
        loss = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight).sum()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.discriminator.eval()
        accuracy = ((logits.detach() > 0).float() == target).float()
        return {
            "loss": loss.item(),
            "accuracy": 0.5 * (accuracy[: len(human)].mean().item() + accuracy[len(human) :].mean().item()),
        }

    def pretrain(self, human: Sequence[str], generated: Sequence[str], epochs: int = 5, batch_size: int = 256) -> list[dict]:
        """Pre-train on ground-truth vs captions of the XE model (WTF-RL: before RL starts). Each step draws a
        batch of each class; returns per-epoch mean loss and balanced accuracy."""
        human, generated = list(human), list(generated)
        steps = max(1, max(len(human), len(generated)) // max(1, batch_size // 2))
        history = []
        for _ in range(epochs):
            self._rng.shuffle(human)
            self._rng.shuffle(generated)
            results = []
            for step in range(steps):
                half = max(1, batch_size // 2)
                h = [human[(step * half + i) % len(human)] for i in range(min(half, len(human)))]
                g = [generated[(step * half + i) % len(generated)] for i in range(min(half, len(generated)))]
                results.append(self.update(h, g))
            history.append({key: sum(r[key] for r in results) / len(results) for key in results[0]})
        return history

    def pretrain_on_captioner(
        self,
        model,
        processor,
        dataset,
        num_videos: int | None = None,
        num_beams: int = 5,
        max_new_tokens: int = 20,
        references_column: str = "captions",
        epochs: int = 5,
        batch_size: int = 256,
        seed: int = 0,
        num_frames: int | None = None,
        collator=None,
        show_progress: bool = True,
    ) -> dict:
        """WTF-RL's pre-training step (Sec. 4.1): the discriminator learns ground-truth captions against the
        beam-searched captions of the captioner RL starts from, on ``num_videos`` videos of ``dataset`` (a seeded
        draw; all by default), with ``num_frames`` frames per video (default: the model's frame slots). Call it
        once before training.

        Returns:
            ``{"history": [per-epoch mean loss and balanced accuracy], "num_human": ..., "num_generated": ...,
            "accuracy_before": ..., "accuracy_after": ...}`` (accuracies on the pre-training captions themselves).
        """
        from ..captioning import default_num_frames
        from ..data.collator import VideoCaptionCollator
        from ..evaluation import generate_for_dataset

        if num_videos is not None:
            if num_videos < 1:
                raise ValueError(f"num_videos ({num_videos}) must be >= 1.")
            dataset = dataset.shuffle(seed=seed).select(range(min(num_videos, len(dataset))))
        if collator is None:
            frames = num_frames or default_num_frames(model, processor)
            collator = VideoCaptionCollator(processor, num_frames=frames, references_column=references_column)
        generated, columns = generate_for_dataset(
            model, processor, dataset, collator, num_beams=num_beams, max_new_tokens=max_new_tokens, show_progress=show_progress,
        )
        if references_column not in columns:
            raise ValueError(f"the dataset has no {references_column!r} column: the discriminator learns from its ground-truth captions.")
        human = [caption for captions in columns[references_column] for caption in captions]

        def accuracy() -> float:
            return 0.5 * (float((self.probabilities(human) > 0.5).float().mean()) + float((self.probabilities(generated) <= 0.5).float().mean()))

        before = accuracy()
        history = self.pretrain(human, generated, epochs=epochs, batch_size=batch_size)
        return {"history": history, "num_human": len(human), "num_generated": len(generated), "accuracy_before": before, "accuracy_after": accuracy()}


def get_discriminator_reward(
    embedder,
    hidden_size: int = 512,
    num_layers: int = 3,
    learning_rate: float = 1e-4,
    cache_size: int = 200_000,
    seed: int = 0,
) -> _DiscriminatorReward:
    """WTF-RL's r_regu: ``P_D(x)``, an MLP's probability that caption x was human-written, on frozen CLIP text
    embeddings (the text encoder is not fine-tuned). Call ``reward.pretrain(gt, generated)`` (or
    ``reward.pretrain_on_captioner(model, processor, train_split)``, which decodes the generated side) before RL; during RL
    the trainer calls ``reward.update(human=batch references, generated=batch samples)`` each step.

    Args:
        embedder (`CLIPEmbedder`): frozen CLIP text encoder.
        hidden_size (`int`, *optional*, defaults to `512`): MLP width.
        num_layers (`int`, *optional*, defaults to `3`): MLP depth (the paper's 3 layers).
        learning_rate (`float`, *optional*, defaults to `1e-4`): AdamW learning rate of the updates.
        cache_size (`int`, *optional*, defaults to `200_000`): caption embeddings kept.
        seed (`int`, *optional*, defaults to `0`): initialisation and shuffling.

    Returns:
        A picklable callable named ``discriminator`` with ``update`` and ``pretrain``.

    Example:
        >>> from hf_vidcap.rewards import get_discriminator_reward
        >>> from hf_vidcap.testing import tiny_clip_embedder
        >>> reward = get_discriminator_reward(tiny_clip_embedder(), hidden_size=32, learning_rate=1e-2)
        >>> history = reward.pretrain(["a red circle moves left"] * 4, ["a a a red red"] * 4, epochs=30, batch_size=8)
        >>> human, generated = reward(["a red circle moves left", "a a a red red"])
        >>> human > 0.5 > generated
        True
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate ({learning_rate}) must be positive.")
    torch.manual_seed(seed)
    discriminator = TextEmbeddingDiscriminator(embedder.embedding_dim, hidden_size, num_layers)
    return _DiscriminatorReward(embedder, discriminator, learning_rate, cache_size, seed)
