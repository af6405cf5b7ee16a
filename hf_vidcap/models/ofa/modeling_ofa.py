"""OFA for captioning (video as frames of image patches), written for transformers 5 (its Cache API, generate).

Shapes: B videos, T frames, g = image_size // 16 patches per side, V visual tokens (T * g * g or g * g),
L text tokens, D = d_model, H heads.

Attention in OFA is ``softmax(q k^T * s + abs_bias + rel_bias + mask) v``: the absolute positions never enter the
hidden states; they give a per-head bias ``(W_q p_i)(W_k p_j)^T`` from layer-normed position embeddings, and every
layer adds its own learned relative-position bias (log-bucketed token distances for text, 2-D patch offsets for
images).
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F
from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as hf_init
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache, DynamicCache, EncoderDecoderCache
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput
from transformers.utils.generic import can_return_tuple

from ..cache_compat import cache_kwargs, output_cache, resolve_cache
from ..captioner import VideoCaptionerMixin
from .configuration_ofa import RESNET_LAYERS, OFAConfig
from .convert_ofa import (
    is_original_ofa_config,
    load_original_ofa_state_dict,
    load_original_ofa_weights,
    read_checkpoint_config,
)

_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "proxies")


def token_relative_buckets(bucket_size: int, max_position: int) -> torch.Tensor:
    """(max_position, max_position) bucket index of each text distance i - j: exact within ``bucket_size // 2``,
    log-spaced beyond, shifted to be non-negative (``2 * bucket_size - 1`` buckets)."""
    relative = torch.arange(max_position)[:, None] - torch.arange(max_position)[None, :]
    sign = torch.sign(relative)
    mid = bucket_size // 2
    magnitude = torch.where((relative < mid) & (relative > -mid), mid - 1, relative.abs())
    log_bucket = torch.ceil(torch.log(magnitude / mid) / math.log((max_position - 1) / mid) * (mid - 1)) + mid
    bucket = torch.where(magnitude <= mid, relative, log_bucket.long() * sign)
    return bucket + bucket_size - 1


def image_relative_buckets(bucket_size: int) -> torch.Tensor:
    """(bucket_size^2 + 1)^2 bucket index of the 2-D offset between two patch positions (position 0 is a special
    slot with its own three buckets), ``(2 * bucket_size - 1)^2 + 3`` buckets."""
    num_buckets = (2 * bucket_size - 1) ** 2 + 3
    rows, cols = torch.meshgrid(torch.arange(bucket_size), torch.arange(bucket_size), indexing="ij")
    coords = torch.stack([rows.flatten(), cols.flatten()])  # (2, P)
    offsets = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (bucket_size - 1)
    index = torch.zeros((bucket_size**2 + 1,) * 2, dtype=torch.long)
    index[1:, 1:] = offsets[..., 0] * (2 * bucket_size - 1) + offsets[..., 1]
    index[0, :] = num_buckets - 3
    index[:, 0] = num_buckets - 2
    index[0, 0] = num_buckets - 1
    return index


# ----------------------------------------------------------------------------------------------------- ResNet stem


class OFABottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class OFAResNetStem(nn.Module):
    """The first three stages of a ResNet (1024 channels at stride 16): OFA's patch embedding."""

    def __init__(self, blocks: tuple[int, int, int]):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        channels = 64
        for stage, (count, width, stride) in enumerate(zip(blocks, (64, 128, 256), (1, 2, 2)), start=1):
            layers = []
            for index in range(count):
                layers.append(OFABottleneck(channels, width, stride if index == 0 else 1))
                channels = width * OFABottleneck.expansion
            setattr(self, f"layer{stage}", nn.Sequential(*layers))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(pixel_values))), kernel_size=3, stride=2, padding=1)
        return self.layer3(self.layer2(self.layer1(x)))


# ------------------------------------------------------------------------------------------------------ attention


class OFAAttention(nn.Module):
    """Multi-head attention with an additive bias and NormFormer's learned per-head output scale."""

    def __init__(self, config: OFAConfig, num_heads: int, layer_idx: int | None = None):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, config.d_model // num_heads
        self.scaling = float(self.head_dim * config.attn_scale_factor) ** -0.5
        self.dropout = config.attention_dropout
        self.layer_idx = layer_idx
        self.q_proj = nn.Linear(config.d_model, config.d_model)
        self.k_proj = nn.Linear(config.d_model, config.d_model)
        self.v_proj = nn.Linear(config.d_model, config.d_model)
        self.out_proj = nn.Linear(config.d_model, config.d_model)
        self.c_attn = nn.Parameter(torch.ones(num_heads)) if config.normformer else None

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:2], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden_states, bias, key_value_states=None, past_key_values: Cache | None = None):
        """``bias``: (B, H, L_q, L_k) additive (positions and masks together)."""
        query = self._heads(self.q_proj(hidden_states) * self.scaling)
        cross = key_value_states is not None
        cache = None
        if past_key_values is not None:
            cache = past_key_values.cross_attention_cache if cross else past_key_values.self_attention_cache
        if cross and cache is not None and past_key_values.is_updated.get(self.layer_idx):
            key, value = cache.layers[self.layer_idx].keys, cache.layers[self.layer_idx].values
        else:
            source = key_value_states if cross else hidden_states
            key, value = self._heads(self.k_proj(source)), self._heads(self.v_proj(source))
            if cache is not None:
                key, value = cache.update(key, value, self.layer_idx)
                if cross:
                    past_key_values.is_updated[self.layer_idx] = True
        scores = torch.matmul(query, key.transpose(-1, -2)) + bias
        probs = F.dropout(torch.softmax(scores.float(), dim=-1).to(query.dtype), p=self.dropout, training=self.training)
        output = torch.matmul(probs, value)  # (B, H, L_q, head_dim)
        if self.c_attn is not None:
            output = output * self.c_attn.view(1, -1, 1, 1)
        # The weights (B, H, L_q, L_k) are returned for output_attentions (recorded by a hook, see _recorded_outputs).
        return self.out_proj(output.transpose(1, 2).reshape(*hidden_states.shape[:2], -1)), probs


class OFAEncoderLayer(nn.Module):
    def __init__(self, config: OFAConfig):
        super().__init__()
        dim = config.d_model
        self.self_attn = OFAAttention(config, config.encoder_attention_heads)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.self_attn_mid_layer_norm = nn.LayerNorm(dim) if config.normformer else None
        self.fc1 = nn.Linear(dim, config.encoder_ffn_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_dim, dim)
        self.ffn_layer_norm = nn.LayerNorm(config.encoder_ffn_dim) if config.normformer else None
        self.final_layer_norm = nn.LayerNorm(dim)
        self.activation = ACT2FN[config.activation_function]
        self.dropout, self.activation_dropout = config.dropout, config.activation_dropout
        self.normalize_before = config.encoder_normalize_before

    def _block(self, x, residual, norm, fn):
        h = norm(x) if self.normalize_before else x
        h = F.dropout(fn(h), p=self.dropout, training=self.training) + residual
        return h if self.normalize_before else norm(h)

    def _attention(self, h, bias):
        h = self.self_attn(h, bias)[0]
        return self.self_attn_mid_layer_norm(h) if self.self_attn_mid_layer_norm is not None else h

    def _ffn(self, h):
        h = F.dropout(self.activation(self.fc1(h)), p=self.activation_dropout, training=self.training)
        if self.ffn_layer_norm is not None:
            h = self.ffn_layer_norm(h)
        return self.fc2(h)

    def forward(self, x, bias):
        x = self._block(x, x, self.self_attn_layer_norm, lambda h: self._attention(h, bias))
        return self._block(x, x, self.final_layer_norm, self._ffn)


class OFADecoderLayer(OFAEncoderLayer):
    def __init__(self, config: OFAConfig, layer_idx: int):
        nn.Module.__init__(self)
        dim = config.d_model
        self.self_attn = OFAAttention(config, config.decoder_attention_heads, layer_idx)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.self_attn_mid_layer_norm = nn.LayerNorm(dim) if config.normformer else None
        self.encoder_attn = OFAAttention(config, config.decoder_attention_heads, layer_idx)
        self.encoder_attn_layer_norm = nn.LayerNorm(dim)
        self.encoder_attn_mid_layer_norm = nn.LayerNorm(dim) if config.normformer else None
        self.fc1 = nn.Linear(dim, config.decoder_ffn_dim)
        self.fc2 = nn.Linear(config.decoder_ffn_dim, dim)
        self.ffn_layer_norm = nn.LayerNorm(config.decoder_ffn_dim) if config.normformer else None
        self.final_layer_norm = nn.LayerNorm(dim)
        self.activation = ACT2FN[config.activation_function]
        self.dropout, self.activation_dropout = config.dropout, config.activation_dropout
        self.normalize_before = config.decoder_normalize_before

    def forward(self, x, self_bias, encoder_states, cross_bias, past_key_values=None):
        def self_attention(h):
            h = self.self_attn(h, self_bias, past_key_values=past_key_values)[0]
            return self.self_attn_mid_layer_norm(h) if self.self_attn_mid_layer_norm is not None else h

        def cross_attention(h):
            h = self.encoder_attn(h, cross_bias, key_value_states=encoder_states, past_key_values=past_key_values)[0]
            return self.encoder_attn_mid_layer_norm(h) if self.encoder_attn_mid_layer_norm is not None else h

        x = self._block(x, x, self.self_attn_layer_norm, self_attention)
        x = self._block(x, x, self.encoder_attn_layer_norm, cross_attention)
        return self._block(x, x, self.final_layer_norm, self._ffn)


# ---------------------------------------------------------------------------------------------- encoder / decoder


class _PositionBias(nn.Module):
    """Absolute positions as an attention bias: per-head ``(W_q LN(p_i)) (W_k LN(p_j))^T * s``."""

    @staticmethod
    def bias(q_linear, k_linear, q_pos, k_pos, num_heads, scaling):
        q = q_linear(q_pos).view(*q_pos.shape[:2], num_heads, -1).transpose(1, 2) * scaling
        k = k_linear(k_pos).view(*k_pos.shape[:2], num_heads, -1).transpose(1, 2)
        return torch.matmul(q, k.transpose(-1, -2))


class OFAEncoder(nn.Module):
    def __init__(self, config: OFAConfig, shared: nn.Embedding):
        super().__init__()
        dim, heads = config.d_model, config.encoder_attention_heads
        self.config, self.num_heads = config, heads
        self.embed_tokens = shared
        self.embed_scale = math.sqrt(dim) if config.scale_embedding else 1.0
        self.type_embedding = nn.Embedding(2, dim) if config.add_type_embedding else None
        self.image_backbone = OFAResNetStem(RESNET_LAYERS[config.resnet_type])
        self.image_proj = nn.Linear(1024, dim)
        self.layernorm_embedding = nn.LayerNorm(dim) if config.layernorm_embedding else None
        self.patch_layernorm_embedding = nn.LayerNorm(dim) if config.patch_layernorm_embedding else None
        self.embed_positions = nn.Embedding(config.max_position_embeddings + 2, dim)
        self.embed_image_positions = nn.Embedding(config.image_bucket_size**2 + 1, dim)
        self.pos_ln, self.image_pos_ln = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.pos_scaling = float(dim / heads * config.attn_scale_factor) ** -0.5
        self.pos_q_linear, self.pos_k_linear = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.layers = nn.ModuleList(OFAEncoderLayer(config) for _ in range(config.encoder_layers))
        self.layer_norm = nn.LayerNorm(dim) if config.encoder_normalize_before else None
        self.token_rel_pos_table_list = nn.ModuleList(nn.Embedding(2 * config.token_bucket_size - 1, heads) for _ in range(config.encoder_layers))
        num_image_buckets = (2 * config.image_bucket_size - 1) ** 2 + 3
        self.image_rel_pos_table_list = nn.ModuleList(nn.Embedding(num_image_buckets, heads) for _ in range(config.encoder_layers))
        self.register_buffer("token_rp_bucket", token_relative_buckets(config.token_bucket_size, config.max_position_embeddings), persistent=False)
        self.register_buffer("image_rp_bucket", image_relative_buckets(config.image_bucket_size), persistent=False)

    def image_position_ids(self, num_visual: int, device) -> torch.Tensor:
        """(V,) patch position ids: row * image_bucket_size + column + 1, repeated for each frame (concat)."""
        side = self.config.image_size // 16
        if num_visual % (side * side):
            raise ValueError(f"{num_visual} visual tokens are not whole {side}x{side} patch grids; check config.image_size ({self.config.image_size}).")
        grid = torch.arange(side, device=device)[:, None] * self.config.image_bucket_size + torch.arange(side, device=device)[None, :] + 1
        return grid.flatten().repeat(num_visual // (side * side))

    def forward(self, input_ids, attention_mask=None, video_embeds=None) -> BaseModelOutput:
        batch, length = input_ids.shape
        text = self.embed_tokens(input_ids) * self.embed_scale
        if self.type_embedding is not None:
            text = text + self.type_embedding.weight[0]
        if self.layernorm_embedding is not None:
            text = self.layernorm_embedding(text)
        padding = input_ids.eq(self.config.pad_token_id) if attention_mask is None else attention_mask.eq(0)
        text_pos = self.pos_ln(self.embed_positions(torch.arange(length, device=input_ids.device)))[None].expand(batch, -1, -1)
        x, positions, num_visual = text, text_pos, 0
        if video_embeds is not None:
            num_visual = video_embeds.shape[1]
            image = video_embeds * self.embed_scale
            if self.type_embedding is not None:
                image = image + self.type_embedding.weight[1]
            if self.patch_layernorm_embedding is not None:
                image = self.patch_layernorm_embedding(image)
            x = torch.cat([image, text], dim=1)
            image_ids = self.image_position_ids(num_visual, input_ids.device)
            image_pos = self.image_pos_ln(self.embed_image_positions(image_ids))[None].expand(batch, -1, -1)
            positions = torch.cat([image_pos, positions], dim=1)
            padding = torch.cat([padding.new_zeros(batch, num_visual), padding], dim=1)
        x = F.dropout(x, p=self.config.dropout, training=self.training)
        x = x * (~padding).unsqueeze(-1).to(x.dtype)
        abs_bias = _PositionBias.bias(self.pos_q_linear, self.pos_k_linear, positions, positions, self.num_heads, self.pos_scaling)
        mask = torch.zeros_like(padding, dtype=x.dtype).masked_fill(padding, torch.finfo(x.dtype).min)[:, None, None, :]
        text_buckets = self.token_rp_bucket[:length, :length]
        if num_visual:
            image_buckets = self.image_rp_bucket[image_ids][:, image_ids]
        for index, layer in enumerate(self.layers):
            bias = abs_bias.clone()
            bias[:, :, num_visual:, num_visual:] += self.token_rel_pos_table_list[index](text_buckets).permute(2, 0, 1)
            if num_visual:
                bias[:, :, :num_visual, :num_visual] += self.image_rel_pos_table_list[index](image_buckets).permute(2, 0, 1)
            x = layer(x, bias + mask)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        # The decoder's cross-attention bias needs the source positions and the source padding.
        output = BaseModelOutput(last_hidden_state=x)
        output["position_embedding"] = positions
        output["padding_mask"] = padding
        return output


class OFADecoder(nn.Module):
    def __init__(self, config: OFAConfig, shared: nn.Embedding):
        super().__init__()
        dim, heads = config.d_model, config.decoder_attention_heads
        self.config, self.num_heads = config, heads
        self.embed_tokens = shared
        self.embed_scale = math.sqrt(dim) if config.scale_embedding else 1.0
        self.layernorm_embedding = nn.LayerNorm(dim) if config.layernorm_embedding else None
        # Image-code generation (OFA's text-to-image) is not supported; its embeddings are kept so checkpoints load.
        self.code_layernorm_embedding = nn.LayerNorm(dim) if config.code_layernorm_embedding else None
        self.embed_positions = nn.Embedding(config.max_position_embeddings + 2, dim)
        self.embed_image_positions = nn.Embedding(config.image_bucket_size**2 + 1, dim)
        self.pos_ln, self.image_pos_ln = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.pos_scaling = float(dim / heads * config.attn_scale_factor) ** -0.5
        self.self_pos_q_linear, self.self_pos_k_linear = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.cross_pos_q_linear, self.cross_pos_k_linear = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.layers = nn.ModuleList(OFADecoderLayer(config, i) for i in range(config.decoder_layers))
        self.layer_norm = nn.LayerNorm(dim) if config.decoder_normalize_before else None
        self.token_rel_pos_table_list = nn.ModuleList(nn.Embedding(2 * config.token_bucket_size - 1, heads) for _ in range(config.decoder_layers))
        num_image_buckets = (2 * config.image_bucket_size - 1) ** 2 + 3
        self.image_rel_pos_table_list = nn.ModuleList(nn.Embedding(num_image_buckets, heads) for _ in range(config.decoder_layers))
        self.register_buffer("token_rp_bucket", token_relative_buckets(config.token_bucket_size, config.max_position_embeddings), persistent=False)

    def forward(self, input_ids, encoder_states, encoder_position, encoder_padding, attention_mask=None, past_key_values=None):
        batch, length = input_ids.shape
        past = past_key_values.get_seq_length() if past_key_values is not None else 0
        device = input_ids.device
        all_positions = self.pos_ln(self.embed_positions(torch.arange(past + length, device=device)))[None].expand(batch, -1, -1)
        query_positions = all_positions[:, past:]
        self_bias = _PositionBias.bias(self.self_pos_q_linear, self.self_pos_k_linear, query_positions, all_positions, self.num_heads, self.pos_scaling)
        cross_bias = _PositionBias.bias(self.cross_pos_q_linear, self.cross_pos_k_linear, query_positions, encoder_position, self.num_heads, self.pos_scaling)
        minimum = torch.finfo(self_bias.dtype).min
        causal = torch.ones(length, past + length, dtype=torch.bool, device=device).tril(diagonal=past)
        mask = torch.zeros(batch, 1, length, past + length, dtype=self_bias.dtype, device=device).masked_fill(~causal, minimum)
        if attention_mask is not None:
            if attention_mask.shape[1] != past + length:
                raise ValueError(f"decoder attention_mask covers {attention_mask.shape[1]} positions, expected {past + length} (cache + new tokens).")
            mask = mask.masked_fill(attention_mask[:, None, None, :].eq(0), minimum)
        cross_mask = torch.zeros_like(encoder_padding, dtype=self_bias.dtype).masked_fill(encoder_padding, minimum)[:, None, None, :]
        x = self.embed_tokens(input_ids) * self.embed_scale
        if self.layernorm_embedding is not None:
            x = self.layernorm_embedding(x)
        x = F.dropout(x, p=self.config.dropout, training=self.training)
        buckets = self.token_rp_bucket[past : past + length, : past + length]
        for index, layer in enumerate(self.layers):
            layer_bias = self_bias + self.token_rel_pos_table_list[index](buckets).permute(2, 0, 1)
            x = layer(x, layer_bias + mask, encoder_states, cross_bias + cross_mask, past_key_values)
        return self.layer_norm(x) if self.layer_norm is not None else x


# ----------------------------------------------------------------------------------------------------------- model


class OFAPreTrainedModel(PreTrainedModel):
    config_class = OFAConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False
    _supports_sdpa = False

    @torch.no_grad()
    def _init_weights(self, module):
        std = self.config.init_std
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
            if module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()
        elif isinstance(module, (nn.LayerNorm, nn.BatchNorm2d)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, OFAAttention) and module.c_attn is not None:
            nn.init.ones_(module.c_attn)
        for name in ("token_rel_pos_table_list", "image_rel_pos_table_list"):
            for table in getattr(module, name, []):  # OFA starts relative biases at zero
                nn.init.zeros_(table.weight)
        # The relative-position buckets are derived buffers (not saved): from_pretrained leaves them empty, so they are
        # computed here (the guarded copy_ leaves them alone when they are already set).
        if hasattr(module, "token_rp_bucket"):
            hf_init.copy_(module.token_rp_bucket, token_relative_buckets(self.config.token_bucket_size, self.config.max_position_embeddings))
        if hasattr(module, "image_rp_bucket"):
            hf_init.copy_(module.image_rp_bucket, image_relative_buckets(self.config.image_bucket_size))


class OFAModel(OFAPreTrainedModel):
    # The encoder and decoder read the one shared embedding (the same module); declared so save_pretrained stores
    # it once and from_pretrained ties it back.
    _tied_weights_keys = {"encoder.embed_tokens.weight": "shared.weight", "decoder.embed_tokens.weight": "shared.weight"}

    def __init__(self, config: OFAConfig):
        super().__init__(config)
        self.shared = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
        self.encoder = OFAEncoder(config, self.shared)
        self.decoder = OFADecoder(config, self.shared)
        self.post_init()

    def get_input_embeddings(self):
        return self.shared

    def set_input_embeddings(self, value):
        self.shared = self.encoder.embed_tokens = self.decoder.embed_tokens = value


class OFAForConditionalGeneration(VideoCaptionerMixin, OFAPreTrainedModel, GenerationMixin):
    r"""
    OFA as a video captioner: ``pixel_values`` (B, T, 3, H, W) or (B, 3, H, W) go through the ResNet stem; the frames'
    patches enter the encoder as image tokens (``config.frame_fusion``: all frames' patches, or their mean) before
    the prompt (e.g. " what does the image describe?"); the decoder writes the caption.

    Follows hf_vidcap's captioner contract: `get_video_embeds` (image tokens, reusable for K captions),
    ``forward(input_ids, decoder_input_ids, pixel_values | video_embeds | frame_features, captions_per_video)`` and
    ``generate(video_embeds=..., input_ids=prompt)`` whose output starts with the decoder start token.
    """

    _tied_weights_keys = {"lm_head.weight": "model.shared.weight"}

    def __init__(self, config: OFAConfig):
        super().__init__(config)
        self.model = OFAModel(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """Loads hf_vidcap's checkpoints as any transformers model does, and the OFA-Sys release's (OFA-Sys/ofa-tiny
        ... ofa-huge: the port's ``config.json`` and ``pytorch_model.bin`` in its key names), converting the keys
        (`convert_ofa_state_dict`) and the config (`OFAConfig.from_dict`) on load; ``save_pretrained`` then writes
        hf_vidcap's layout. For a release checkpoint ``dtype`` and ``device_map`` (one device) apply, and config
        fields (``image_size``, ``frame_fusion``, ...) may be given as keywords."""
        path = str(pretrained_model_name_or_path)
        hub = {key: kwargs[key] for key in _HUB_KWARGS if key in kwargs}
        raw = None if os.path.isfile(path) else read_checkpoint_config(path, hub)
        if raw is None or not is_original_ofa_config(raw):
            return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        if model_args:
            raise TypeError("from_pretrained takes no positional model arguments for an OFA-Sys release checkpoint.")
        for key in [*hub, "trust_remote_code", *(key for key in kwargs if key.startswith("_"))]:
            kwargs.pop(key, None)  # hub settings (used above) and what the Auto classes pass along
        dtype = kwargs.pop("dtype", None) or kwargs.pop("torch_dtype", None)
        device = kwargs.pop("device_map", None)
        config = kwargs.pop("config", None)
        if config is None:
            config, kwargs = cls.config_class.from_dict(raw, return_unused_kwargs=True, **kwargs)
        if kwargs:
            raise TypeError(
                f"from_pretrained got {sorted(kwargs)}, which loading an OFA-Sys release checkpoint does not take (it "
                "takes hub settings, config=, OFAConfig fields, dtype= and device_map=). Load it once, save_pretrained "
                "it, and load that copy with the full transformers options."
            )
        state_dict = load_original_ofa_state_dict(path, hub)
        model = cls(config)
        load_original_ofa_weights(model, state_dict)
        if dtype == "auto":
            dtype = next(value.dtype for value in state_dict.values() if value.is_floating_point())
        if dtype is not None:
            model = model.to(getattr(torch, dtype) if isinstance(dtype, str) else dtype)
        if device is not None:
            if isinstance(device, dict):
                raise ValueError("device_map for an OFA-Sys release checkpoint must be one device (e.g. 'cuda:0'), not a map.")
            model = model.to(device)
        model.config._name_or_path = path
        return model.eval()

    def get_encoder(self):
        return _EncoderForGeneration(self)

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value):
        self.lm_head = value

    @property
    def vision_model(self) -> nn.Module:
        return self.model.encoder.image_backbone

    def visual_modules(self) -> dict[str, nn.Module]:
        """The modules that turn frames into image tokens (before the shared encoder)."""
        return {"image_backbone": self.model.encoder.image_backbone, "image_proj": self.model.encoder.image_proj}

    def get_frame_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """ResNet-stem features (B, T, g * g, 1024) of videos (B, T, 3, H, W) or images (B, 3, H, W)."""
        if pixel_values.ndim == 4:
            pixel_values = pixel_values.unsqueeze(1)
        if pixel_values.ndim != 5:
            raise ValueError(f"pixel_values must have shape (B, T, 3, H, W) or (B, 3, H, W), got {tuple(pixel_values.shape)}.")
        if pixel_values.shape[-1] != self.config.image_size or pixel_values.shape[-2] != self.config.image_size:
            raise ValueError(f"frames are {tuple(pixel_values.shape[-2:])} but config.image_size is {self.config.image_size}; resize them in the processor.")
        features = self.model.encoder.image_backbone(pixel_values.flatten(0, 1))  # (B*T, 1024, g, g)
        return features.flatten(2).transpose(1, 2).unflatten(0, pixel_values.shape[:2])

    def get_video_embeds(self, pixel_values: torch.Tensor | None = None, frame_features: torch.Tensor | None = None) -> torch.Tensor:
        """Image tokens (B, V, D): ``image_proj`` of every frame's patches (concat) or of their mean over frames."""
        if frame_features is None:
            if pixel_values is None:
                raise ValueError("get_video_embeds needs pixel_values (B, T, 3, H, W) or frame_features (B, T, g*g, 1024).")
            frame_features = self.get_frame_features(pixel_values)
        fused = frame_features.mean(dim=1) if self.config.frame_fusion == "mean" else frame_features.flatten(1, 2)
        return self.model.encoder.image_proj(fused)

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        video_embeds: torch.Tensor | None = None,
        frame_features: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | None = None,
        cache: Cache | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        captions_per_video: int = 1,
        past_key_values: Cache | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        **kwargs,
    ) -> Seq2SeqLMOutput:
        r"""
        input_ids (B, L): the prompt, encoded with the image tokens; decoder_input_ids (N, L'): the caption so far
        (N = B * ``captions_per_video``); labels: as in BART (``decoder_input_ids`` are derived from them when
        absent). ``cache`` (or, before transformers 5.24, ``past_key_values``): an `EncoderDecoderCache`.
        """
        past_key_values = resolve_cache(cache, past_key_values)
        hidden = self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        attentions = self.config.output_attentions if output_attentions is None else output_attentions
        with _recorded_outputs(self.model, hidden, attentions) as records:
            outputs, decoder_last_hidden_state = self._forward(
                input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, pixel_values, video_embeds,
                frame_features, encoder_outputs, past_key_values, labels, use_cache, captions_per_video,
            )
        for key, values in records.items():
            if key.endswith("hidden_states") and values:  # the last entry is the stack's output (after its norm)
                values.append(decoder_last_hidden_state if key == "decoder_hidden_states" else outputs.encoder_last_hidden_state)
        # Built anew so that the fields keep their order in the tuple that return_dict=False gives.
        return Seq2SeqLMOutput(
            loss=outputs.loss,
            logits=outputs.logits,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            **{key: tuple(values) if values else None for key, values in records.items()},
            **cache_kwargs(output_cache(outputs)),
        )

    def _forward(
        self, input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, pixel_values, video_embeds,
        frame_features, encoder_outputs, past_key_values, labels, use_cache, captions_per_video,
    ) -> tuple[Seq2SeqLMOutput, torch.Tensor]:
        # The encoder reads the prompt with the video: it runs once per video, and its outputs are repeated K times.
        pixel_values, video_embeds = self.resolve_visual_inputs(pixel_values, video_embeds, frame_features, captions_per_video, repeat=False)
        if labels is not None and decoder_input_ids is None:
            start = torch.full_like(labels[:, :1], self.config.decoder_start_token_id)
            decoder_input_ids = torch.cat([start, labels[:, :-1].masked_fill(labels[:, :-1] == -100, self.config.pad_token_id)], dim=1)
        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError("forward needs input_ids (the prompt) or encoder_outputs.")
            if pixel_values is not None:
                video_embeds = self.get_video_embeds(pixel_values)
            if captions_per_video > 1 and video_embeds is not None and input_ids.shape[0] == video_embeds.shape[0] * captions_per_video:
                # The prompt rows are grouped by video: encode each video once with its first row.
                input_ids = input_ids[::captions_per_video]
                attention_mask = attention_mask[::captions_per_video] if attention_mask is not None else None
            encoder_outputs = self.model.encoder(input_ids, attention_mask, video_embeds)
            if captions_per_video > 1:
                encoder_outputs = _repeat_encoder_outputs(encoder_outputs, captions_per_video)
        if use_cache and past_key_values is None:
            past_key_values = EncoderDecoderCache(DynamicCache(config=self.config), DynamicCache(config=self.config))
        hidden = self.model.decoder(
            decoder_input_ids,
            encoder_outputs.last_hidden_state,
            encoder_outputs["position_embedding"],
            encoder_outputs["padding_mask"],
            attention_mask=decoder_attention_mask,
            past_key_values=past_key_values,
        )
        logits = self.lm_head(hidden)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        return Seq2SeqLMOutput(
            loss=loss,
            logits=logits,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            **cache_kwargs(past_key_values if use_cache else None),
        ), hidden

    def prepare_inputs_for_generation(
        self, decoder_input_ids, cache=None, encoder_outputs=None, decoder_attention_mask=None, use_cache=None, past_key_values=None, **kwargs
    ):
        # `generate` passes the cache as `cache` from transformers 5.24 on and as `past_key_values` before.
        past_key_values = resolve_cache(cache, past_key_values)
        if past_key_values is not None and past_key_values.get_seq_length() > 0:
            decoder_input_ids = decoder_input_ids[:, past_key_values.get_seq_length() :]
        return {
            "decoder_input_ids": decoder_input_ids,
            "encoder_outputs": encoder_outputs,
            "decoder_attention_mask": decoder_attention_mask,
            "use_cache": use_cache,
            **cache_kwargs(past_key_values),
        }

    def _reorder_cache(self, past_key_values, beam_idx):
        past_key_values.reorder_cache(beam_idx)
        return past_key_values

    @torch.no_grad()
    def generate(self, pixel_values=None, input_ids=None, attention_mask=None, video_embeds=None, **generate_kwargs):
        """Caption videos; ``input_ids`` is the encoder prompt. The output starts with the decoder start token."""
        if video_embeds is None and pixel_values is not None:
            video_embeds = self.get_video_embeds(pixel_values)
        if input_ids is None:
            if video_embeds is None:
                raise ValueError("generate needs input_ids (the prompt) and pixel_values or video_embeds.")
            input_ids = torch.full((video_embeds.shape[0], 1), self.config.bos_token_id, dtype=torch.long, device=video_embeds.device)
        encoder_outputs = self.model.encoder(input_ids, attention_mask, video_embeds)
        return super().generate(inputs=input_ids, encoder_outputs=encoder_outputs, **generate_kwargs)


class _EncoderForGeneration(nn.Module):
    """What `GenerationMixin` calls as the encoder when generate is given no ``encoder_outputs``."""

    def __init__(self, model: OFAForConditionalGeneration):
        super().__init__()
        self.model = model

    def forward(self, input_ids=None, attention_mask=None, video_embeds=None, pixel_values=None, **kwargs):
        if video_embeds is None and pixel_values is not None:
            video_embeds = self.model.get_video_embeds(pixel_values)
        return self.model.model.encoder(input_ids, attention_mask, video_embeds)


@contextmanager
def _recorded_outputs(model: OFAModel, hidden_states: bool, attentions: bool):
    """Record each layer's input (``*_hidden_states``) and each attention's weights (``*_attentions``) with hooks,
    as transformers' ``output_hidden_states`` / ``output_attentions`` ask; nothing is hooked when neither is asked."""
    records = {name: [] for name in ("encoder_hidden_states", "decoder_hidden_states", "encoder_attentions", "decoder_attentions", "cross_attentions")}
    handles = []
    for stack, prefix in ((model.encoder, "encoder"), (model.decoder, "decoder")):
        for layer in stack.layers:
            if hidden_states:
                handles.append(layer.register_forward_pre_hook(lambda module, args, key=f"{prefix}_hidden_states": records[key].append(args[0])))
            if attentions:
                record = lambda key: lambda module, args, output: records[key].append(output[1])  # noqa: E731
                handles.append(layer.self_attn.register_forward_hook(record(f"{prefix}_attentions")))
                if prefix == "decoder":
                    handles.append(layer.encoder_attn.register_forward_hook(record("cross_attentions")))
    try:
        yield records
    finally:
        for handle in handles:
            handle.remove()


def _repeat_encoder_outputs(outputs: BaseModelOutput, times: int) -> BaseModelOutput:
    repeated = BaseModelOutput(last_hidden_state=outputs.last_hidden_state.repeat_interleave(times, dim=0))
    for key in ("position_embedding", "padding_mask"):
        repeated[key] = outputs[key].repeat_interleave(times, dim=0)
    return repeated


__all__ = ["OFAForConditionalGeneration", "OFAModel", "OFAPreTrainedModel", "image_relative_buckets", "token_relative_buckets"]
