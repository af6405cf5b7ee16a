"""Tiny randomly initialised models and tokenizers for tests and runnable docstring examples (no downloads).

The real checkpoints (``openai/clip-vit-base-patch16``, ``bert-base-uncased``, ...) load through the same code
paths; these factories only stand in for them offline.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

SPECIAL_TOKENS = ["<pad>", "<unk>", "<s>", "</s>", "[MASK]"]

DEFAULT_WORDS = (
    "a an the is are of in on to and with it its this that there video clip shows someone person man woman "
    "people red green blue yellow orange purple circle square triangle cross moves moving slides grows shrinks "
    "spins rotates bounces left right up down bigger smaller small large fast slowly quickly around playing "
    "talking cooking running dog cat car ball kitchen room street field"
).split()


def build_word_tokenizer(words: Sequence[str] | None = None, add_special_tokens: bool = True):
    """A lower-casing word-level `PreTrainedTokenizerFast` with ``<pad> <unk> <s> </s> [MASK]``; encoding adds
    ``<s> ... </s>`` (the CLIP text encoder pools at ``</s>``)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocabulary = list(dict.fromkeys(SPECIAL_TOKENS + [w.lower() for w in (words or DEFAULT_WORDS)]))
    vocab = {token: i for i, token in enumerate(vocabulary)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    if add_special_tokens:
        backend.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>", mask_token="[MASK]"
    )


def tiny_clip(words: Sequence[str] | None = None, image_size: int = 32, seed: int = 0):
    """A tiny random `CLIPModel` with its tokenizer and `CLIPImageProcessor`: ``(model, tokenizer, image_processor)``."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    tokenizer = build_word_tokenizer(words)
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        vision_config={
            "image_size": image_size,
            "patch_size": 8,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
        },
        projection_dim=16,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    return model, tokenizer, image_processor


def tiny_clip_embedder(words: Sequence[str] | None = None, seed: int = 0):
    """A `CLIPEmbedder` over `tiny_clip`."""
    from .encoders import CLIPEmbedder

    model, tokenizer, image_processor = tiny_clip(words, seed=seed)
    return CLIPEmbedder(model, tokenizer, image_processor)


def tiny_masked_lm(words: Sequence[str] | None = None, seed: int = 0):
    """A tiny random `BertForMaskedLM` with a word-level tokenizer: ``(model, tokenizer)``."""
    from transformers import BertConfig, BertForMaskedLM

    tokenizer = build_word_tokenizer(words)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return BertForMaskedLM(config).eval(), tokenizer


def tiny_open_clip(seed: int = 0):
    """A tiny random open_clip model with the package's own BPE tokenizer: ``(model, preprocess, tokenizer)``.
    Needs the ``open_clip`` extra."""
    try:
        import open_clip
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError("tiny_open_clip needs open_clip_torch: pip install 'hf-vidcap[open_clip]'.") from error
    import json
    import tempfile
    from pathlib import Path

    name = "hf-vidcap-tiny-clip"
    if name not in open_clip.list_models():
        config = {
            "embed_dim": 16,
            "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
            "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
        }
        directory = Path(tempfile.mkdtemp(prefix="hf_vidcap_open_clip_"))
        (directory / f"{name}.json").write_text(json.dumps(config))
        open_clip.add_model_config(directory)
    torch.manual_seed(seed)
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None)
    return model.eval(), preprocess, open_clip.get_tokenizer(name)
