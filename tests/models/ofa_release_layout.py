"""Writes a repository in the layout of the OFA-Sys release (OFA-Sys/ofa-tiny ... ofa-huge on the Hub): the OFA-Sys
transformers port's ``config.json``, ``pytorch_model.bin`` under the port's key names (with the buffers it saves),
and BART's byte-level BPE files ``vocab.json`` / ``merges.txt``. Random weights, small sizes.

The key names and shapes below are written from the port's published code (OFA-Sys/OFA, branch feature/add_transformers,
``transformers/src/transformers/models/ofa/``), not from hf_vidcap's model:
- ``modeling_ofa.py``: ``OFAModel.__init__`` (``encoder`` and ``decoder`` at the top level sharing one embedding),
  ``OFAEncoder.__init__`` (embed_tokens, type_embedding, embed_images, image_proj, patch_layernorm_embedding,
  embed_positions, embed_image_positions, pos_ln, image_pos_ln, pos_q_linear, pos_k_linear, layers, layer_norm,
  token_rel_pos_table_list, image_rel_pos_table_list, layernorm_embedding; buffers token_rp_bucket, image_rp_bucket),
  ``OFADecoder.__init__`` (the same text embeddings plus code_layernorm_embedding, self_/cross_pos_{q,k}_linear and
  output_projection, tied to embed_tokens; buffers token_rp_bucket, image_rp_bucket, image_position_idx),
  ``OFAEncoderLayer`` / ``OFADecoderLayer`` (self_attn, self_attn_layer_norm, self_attn_mid_layer_norm, cross_attn,
  cross_attn_layer_norm, cross_attn_mid_layer_norm, fc1, fc2, ffn_layer_norm, final_layer_norm) and ``OFAAttention``
  (k_proj, v_proj, q_proj, out_proj, c_attn);
- ``resnet.py``: ``ResNet`` (conv1, bn1, layer1-3 of ``Bottleneck`` blocks: conv1-3, bn1-3, downsample.0/.1);
- ``configuration_ofa.py``: the fields of ``OFAConfig.__init__``;
- ``tokenization_ofa.py``: ``OFATokenizer`` is BART's tokenizer plus <code_0..8191> then <bin_0..999> on load.
The token relative-position buckets are built for 1024 positions (``DEFAULT_MAX_SOURCE_POSITIONS``) whatever the config.
"""

from __future__ import annotations

import json
import os

import torch

RESNET_BLOCKS = {"resnet50": (3, 4, 6), "resnet101": (3, 4, 23), "resnet152": (3, 8, 36)}


def release_config(vocab_size: int, d_model: int = 32, layers: int = 2, heads: int = 4, resnet_type: str = "resnet50") -> dict:
    """A config.json as the port saves it: every field of its OFAConfig (no resolution, no video settings)."""
    return {
        "_name_or_path": "ofa-tiny", "architectures": ["OFAModel"], "model_type": "ofa", "transformers_version": "4.18.0.dev0",
        "torch_dtype": "float32", "vocab_size": vocab_size, "max_position_embeddings": 64, "d_model": d_model,
        "encoder_layers": layers, "decoder_layers": layers, "num_hidden_layers": layers,
        "encoder_attention_heads": heads, "decoder_attention_heads": heads,
        "encoder_ffn_dim": 2 * d_model, "decoder_ffn_dim": 2 * d_model, "encoder_layerdrop": 0.0, "decoder_layerdrop": 0.0,
        "activation_function": "gelu", "dropout": 0.1, "attention_dropout": 0.0, "activation_dropout": 0.0,
        "classifier_dropout": 0.0, "init_std": 0.02, "scale_embedding": False, "use_cache": False,
        "is_encoder_decoder": True, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "decoder_start_token_id": 0,
        "forced_eos_token_id": 2, "encoder_normalize_before": True, "decoder_normalize_before": True, "normformer": True,
        "encoder_drop_path_rate": 0.0, "decoder_drop_path_rate": 0.0, "layernorm_embedding": True,
        "patch_layernorm_embedding": True, "resnet_type": resnet_type, "resnet_model_path": None,
        "resnet_drop_path_rate": 0.0, "token_bucket_size": 16, "image_bucket_size": 8, "add_type_embedding": True,
        "share_decoder_input_output_embed": True, "attn_scale_factor": 2.0, "code_layernorm_embedding": True,
        "code_image_size": 128, "entangle_position_embedding": False,
    }


def release_tensor_shapes(config: dict) -> dict[str, tuple]:
    """Every key the port's ``OFAModel.state_dict()`` holds for ``config``, with its shape; buffers (long tensors)
    are marked by a trailing ``"long"``."""
    d, vocab = config["d_model"], config["vocab_size"]
    shapes: dict[str, tuple] = {}

    def linear(name, out_dim, in_dim):
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (out_dim, in_dim), (out_dim,)

    def norm(name, dim):
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (dim,), (dim,)

    def batch_norm(name, dim):
        for part in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{part}"] = (dim,)
        shapes[f"{name}.num_batches_tracked"] = ("long",)

    def attention(name, heads):
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            linear(f"{name}.{proj}", d, d)
        shapes[f"{name}.c_attn"] = (heads,)

    # ResNet stem (resnet.py)
    stem = "encoder.embed_images"
    shapes[f"{stem}.conv1.weight"] = (64, 3, 7, 7)
    batch_norm(f"{stem}.bn1", 64)
    channels = 64
    for stage, (count, width) in enumerate(zip(RESNET_BLOCKS[config["resnet_type"]], (64, 128, 256)), start=1):
        for index in range(count):
            block = f"{stem}.layer{stage}.{index}"
            shapes[f"{block}.conv1.weight"] = (width, channels, 1, 1)
            shapes[f"{block}.conv2.weight"] = (width, width, 3, 3)
            shapes[f"{block}.conv3.weight"] = (4 * width, width, 1, 1)
            for bn, dim in (("bn1", width), ("bn2", width), ("bn3", 4 * width)):
                batch_norm(f"{block}.{bn}", dim)
            if index == 0:
                shapes[f"{block}.downsample.0.weight"] = (4 * width, channels, 1, 1)
                batch_norm(f"{block}.downsample.1", 4 * width)
            channels = 4 * width

    buckets_token = 2 * config["token_bucket_size"] - 1
    buckets_image = (2 * config["image_bucket_size"] - 1) ** 2 + 3
    image_positions = config["image_bucket_size"] ** 2 + 1
    for side in ("encoder", "decoder"):
        heads, ffn, layers = config[f"{side}_attention_heads"], config[f"{side}_ffn_dim"], config[f"{side}_layers"]
        shapes[f"{side}.embed_tokens.weight"] = (vocab, d)
        norm(f"{side}.layernorm_embedding", d)
        shapes[f"{side}.embed_positions.weight"] = (config["max_position_embeddings"] + 2, d)
        shapes[f"{side}.embed_image_positions.weight"] = (image_positions, d)
        norm(f"{side}.pos_ln", d)
        norm(f"{side}.image_pos_ln", d)
        norm(f"{side}.layer_norm", d)
        for index in range(layers):
            layer = f"{side}.layers.{index}"
            attentions = ("self_attn", "cross_attn") if side == "decoder" else ("self_attn",)
            for attn in attentions:
                attention(f"{layer}.{attn}", heads)
                norm(f"{layer}.{attn}_layer_norm", d)
                norm(f"{layer}.{attn}_mid_layer_norm", d)
            linear(f"{layer}.fc1", ffn, d)
            linear(f"{layer}.fc2", d, ffn)
            norm(f"{layer}.ffn_layer_norm", ffn)
            norm(f"{layer}.final_layer_norm", d)
            shapes[f"{side}.token_rel_pos_table_list.{index}.weight"] = (buckets_token, heads)
            shapes[f"{side}.image_rel_pos_table_list.{index}.weight"] = (buckets_image, heads)
        shapes[f"{side}.token_rp_bucket"] = (1024, 1024, "long")
        shapes[f"{side}.image_rp_bucket"] = (image_positions, image_positions, "long")
    shapes["encoder.type_embedding.weight"] = (2, d)
    linear("encoder.image_proj", d, 1024)
    norm("encoder.patch_layernorm_embedding", d)
    linear("encoder.pos_q_linear", d, d)
    linear("encoder.pos_k_linear", d, d)
    norm("decoder.code_layernorm_embedding", d)
    for name in ("self_pos_q_linear", "self_pos_k_linear", "cross_pos_q_linear", "cross_pos_k_linear"):
        linear(f"decoder.{name}", d, d)
    shapes["decoder.output_projection.weight"] = (vocab, d)
    shapes["decoder.image_position_idx"] = (1 + (config["code_image_size"] // 8) ** 2 + 768, "long")
    return shapes


def release_state_dict(config: dict, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights under the port's names; the three token-embedding names hold one tensor (as the port ties
    them); BatchNorm variances are positive."""
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in release_tensor_shapes(config).items():
        if shape[-1] == "long":
            state[key] = torch.randint(0, 8, shape[:-1], generator=generator)
        elif key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(shape, generator=generator)
        else:
            state[key] = 0.3 * torch.randn(shape, generator=generator)
    state["encoder.embed_tokens.weight"] = state["decoder.embed_tokens.weight"] = state["decoder.output_projection.weight"]
    return state


def write_bpe_files(folder: str, words: list[str]) -> int:
    """BART-style ``vocab.json`` / ``merges.txt`` (<s>=0, <pad>=1, </s>=2, <unk>=3, <mask>) trained on ``words``;
    returns the vocabulary size."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([" ".join(words)] * 4 + ["what does the image describe?"], vocab_size=400, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(folder)
    return bpe.get_vocab_size()


def write_ofa_release_repo(folder: str, words: list[str], seed: int = 0, **sizes) -> dict:
    """The repository files; returns the config dict written."""
    os.makedirs(folder, exist_ok=True)
    bpe_size = write_bpe_files(folder, words)
    config = release_config(vocab_size=bpe_size + 8192 + 1000, **sizes)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    torch.save(release_state_dict(config, seed), os.path.join(folder, "pytorch_model.bin"))
    return config
