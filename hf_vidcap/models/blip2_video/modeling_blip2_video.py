"""BLIP-2 as a video captioner: frames through the vision tower, patch tokens concatenated, one Q-Former.

Shapes: B videos, T frames, P patch tokens per frame (plus CLS), Q query tokens, D hidden sizes.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import Blip2ForConditionalGeneration, DynamicCache
from transformers import initialization as init
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.models.blip_2.modeling_blip_2 import (
    BaseModelOutputWithVisionQformerOutputs,
    Blip2ForConditionalGenerationModelOutput,
)
from transformers.utils.generic import can_return_tuple

from ..cache_compat import cache_kwargs, output_cache
from ..captioner import VideoCaptionerMixin
from .configuration_blip2_video import VideoBlip2Config


class VideoBlip2ForConditionalGeneration(VideoCaptionerMixin, Blip2ForConditionalGeneration):
    r"""
    [`Blip2ForConditionalGeneration`] for ``pixel_values`` of shape (B, T, C, H, W). ``config.frame_fusion``
    chooses between the two designs below (``"concat_patches"``, the default, and ``"per_frame_queries"``:
    a Q-Former pass per frame, T * Q visual tokens, as InstructBLIPVideo).

    Every frame goes through the vision tower; the frames' token sequences (optionally plus a learned
    per-frame temporal embedding) are concatenated into one (B, T * (P + 1), D_v) sequence that one Q-Former
    cross-attends to. The language model therefore sees ``num_query_tokens`` visual tokens whatever T is,
    which is what lets a BLIP-2 image checkpoint caption video with no new parameters (the BLIP-2 video
    captioning paper). A 4-D input (B, C, H, W) is treated as T = 1 and, with no temporal embedding or a zero
    one, reproduces [`Blip2ForConditionalGeneration`] exactly.

    Video features can be computed once with [`~VideoBlip2ForConditionalGeneration.get_video_embeds`] and
    passed as ``video_embeds`` to `forward` and `generate`, so that K captions of one video reuse one encoding.
    """

    config_class = VideoBlip2Config
    frames_config_key = "num_frames"
    main_input_name = "pixel_values"

    @classmethod
    def frames_limit_key(cls, config) -> str | None:
        # Only the temporal embedding limits the frames; without it any number goes through the Q-Former.
        return cls.frames_config_key if config.use_temporal_embedding else None

    def __init__(self, config: VideoBlip2Config):
        super().__init__(config)
        if config.use_temporal_embedding:
            self.temporal_embedding = nn.Parameter(torch.zeros(1, config.num_frames, 1, config.vision_config.hidden_size))
            # Blip2ForConditionalGeneration.__init__ ran post_init before this parameter existed and marked this
            # module as initialised, so a second post_init would skip it: initialise it here.
            self._init_temporal_embedding(self.temporal_embedding)
        else:
            self.temporal_embedding = None

    def _init_temporal_embedding(self, temporal_embedding: torch.Tensor) -> None:
        std = self.config.temporal_embedding_init_std
        if std > 0:
            init.trunc_normal_(temporal_embedding, mean=0.0, std=std)
        else:
            init.zeros_(temporal_embedding)

    def _init_weights(self, module):
        super()._init_weights(module)
        # Reached when from_pretrained loads a checkpoint without a temporal embedding (a BLIP-2 image checkpoint).
        temporal_embedding = getattr(module, "temporal_embedding", None)
        if isinstance(module, VideoBlip2ForConditionalGeneration) and temporal_embedding is not None:
            self._init_temporal_embedding(temporal_embedding)

    def _check_pixel_values(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if pixel_values.ndim == 4:
            return pixel_values.unsqueeze(1)
        if pixel_values.ndim != 5:
            raise ValueError(
                f"pixel_values must have shape (B, T, C, H, W) or (B, C, H, W), got {tuple(pixel_values.shape)}."
            )
        return pixel_values

    def get_frame_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The vision tower's token sequences (B, T, P + 1, D_v) for videos (B, T, C, H, W) or images (B, C, H, W).

        When the vision tower is frozen these can be computed once per video and cached (the trainer's
        ``cache_video_features``); `get_video_features` and `forward` accept them as ``frame_features``.
        """
        return self._encode_frames(pixel_values)[1]

    def _encode_frames(self, pixel_values: torch.Tensor):
        pixel_values = self._check_pixel_values(pixel_values)
        vision_outputs = self.vision_model(pixel_values=pixel_values.flatten(0, 1), return_dict=True)
        return vision_outputs, vision_outputs.last_hidden_state.unflatten(0, pixel_values.shape[:2])

    @can_return_tuple
    def get_video_features(
        self,
        pixel_values: torch.Tensor | None = None,
        frame_features: torch.Tensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        **kwargs,
    ) -> BaseModelOutputWithVisionQformerOutputs:
        """Encode videos (B, T, C, H, W) given as ``pixel_values`` or ``pixel_values_videos`` (transformers' name for
        video inputs), or the vision tower's ``frame_features`` (B, T, P + 1, D_v) from `get_frame_features`.

        Every field has B rows: ``pooler_output`` is the language-model input (B, V, D_lm) with V = Q
        (``concat_patches``) or T * Q (``per_frame_queries``); ``last_hidden_state`` the frames' tokens the Q-Former
        reads (B, T * (P + 1), D_v); ``qformer_outputs.last_hidden_state`` (B, V, D_q). Deliberately per frame (B * T
        rows), because each frame is its own pass: ``vision_outputs`` and, with ``per_frame_queries``, the Q-Former's
        ``pooler_output``, ``hidden_states`` and ``attentions``.
        """
        if pixel_values_videos is not None:
            if pixel_values is not None:
                raise ValueError("pass the video as pixel_values or as pixel_values_videos, not both.")
            pixel_values = pixel_values_videos
        vision_outputs = None
        if frame_features is None:
            if pixel_values is None:
                raise ValueError(
                    "get_video_features needs pixel_values / pixel_values_videos (B, T, C, H, W) or frame_features "
                    "(B, T, P + 1, D_v)."
                )
            vision_outputs, frame_tokens = self._encode_frames(pixel_values)
        else:
            if frame_features.ndim != 4:
                raise ValueError(f"frame_features must have shape (B, T, P + 1, D_v), got {tuple(frame_features.shape)}.")
            frame_tokens = frame_features
        batch_size, num_frames = frame_tokens.shape[:2]
        if self.temporal_embedding is not None:
            if num_frames > self.temporal_embedding.shape[1]:
                raise ValueError(
                    f"the video has {num_frames} frames but the temporal embedding has config.num_frames="
                    f"{self.config.num_frames} rows; sample fewer frames or raise num_frames."
                )
            frame_tokens = frame_tokens + self.temporal_embedding[:, :num_frames].to(frame_tokens.dtype)
        if self.config.frame_fusion == "per_frame_queries":
            video_tokens = frame_tokens.flatten(0, 1)  # (B*T, P+1, D_v): one Q-Former pass per frame
        else:
            video_tokens = frame_tokens.flatten(1, 2)  # (B, T*(P+1), D_v): one pass over all frames
        video_mask = torch.ones(video_tokens.shape[:-1], dtype=torch.long, device=video_tokens.device)
        query_tokens = self.query_tokens.expand(video_tokens.shape[0], -1, -1)
        qformer_outputs = self.qformer(
            query_embeds=query_tokens,
            encoder_hidden_states=video_tokens,
            encoder_attention_mask=video_mask,
            return_dict=True,
        )
        query_output = qformer_outputs.last_hidden_state
        if self.config.frame_fusion == "per_frame_queries":
            query_output = query_output.reshape(batch_size, num_frames * query_output.shape[1], -1)  # (B, T*Q, D_q)
            qformer_outputs.last_hidden_state = query_output
        # The Q-Former is kept in fp32; cast back to the vision dtype as BLIP-2 does.
        if query_output.dtype != video_tokens.dtype:
            query_output = query_output.to(video_tokens.dtype)
        return BaseModelOutputWithVisionQformerOutputs(
            last_hidden_state=frame_tokens.flatten(1, 2),
            pooler_output=self.language_projection(query_output),
            vision_outputs=vision_outputs,
            qformer_outputs=qformer_outputs,
        )

    def num_visual_tokens(self, num_frames: int) -> int:
        """How many visual tokens (image placeholders) the language model gets for ``num_frames`` frames."""
        if self.config.frame_fusion == "per_frame_queries":
            return num_frames * self.config.num_query_tokens
        return self.config.num_query_tokens

    def get_image_features(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool | None = False, **kwargs):
        return self.get_video_features(pixel_values, **kwargs)

    def get_video_embeds(self, pixel_values: torch.Tensor | None = None, frame_features: torch.Tensor | None = None) -> torch.Tensor:
        """The language-model inputs (B, Q, D_lm) for videos (B, T, C, H, W) or their ``frame_features``."""
        return self.get_video_features(pixel_values, frame_features=frame_features).pooler_output

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        video_embeds: torch.Tensor | None = None,
        captions_per_video: int = 1,
        frame_features: torch.Tensor | None = None,
        **kwargs,
    ):
        r"""
        Same as [`Blip2ForConditionalGeneration.forward`], with ``pixel_values`` of shape (B, T, C, H, W), or
        ``video_embeds`` (B, Q, D_lm) from [`~VideoBlip2ForConditionalGeneration.get_video_embeds`] instead.

        captions_per_video (`int`, *optional*, defaults to `1`):
            K: the text inputs hold K captions per video, grouped by video (B * K rows). Each video is encoded
            once and its embedding repeated K times, instead of encoding K copies of the video.
        frame_features (`torch.Tensor` of shape (B, T, P + 1, D_v), *optional*):
            Precomputed vision-tower outputs (`get_frame_features`) instead of ``pixel_values``: the Q-Former and
            the projection run (with gradients), the vision tower does not.
        """
        pixel_values, video_embeds = self.resolve_visual_inputs(
            pixel_values, video_embeds, frame_features, captions_per_video, repeat=False
        )
        if video_embeds is not None and captions_per_video > 1:
            shared = self._forward_sharing_video(video_embeds, input_ids, attention_mask, captions_per_video, kwargs)
            if shared is not None:
                return shared
            video_embeds = video_embeds.repeat_interleave(captions_per_video, dim=0)
        if video_embeds is not None:
            kwargs["mm_encoder_outputs"] = {"image": BaseModelOutputWithVisionQformerOutputs(pooler_output=video_embeds)}
        elif pixel_values is None and kwargs.get("mm_encoder_outputs") is None:
            raise ValueError("forward needs pixel_values (B, T, C, H, W) or video_embeds (B, Q, D_lm).")
        return super().forward(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask, **kwargs)

    def _forward_sharing_video(self, video_embeds, input_ids, attention_mask, k: int, kwargs: dict):
        """The forward of K captions per video that computes what the K rows share once per video: a decoder-only
        language model runs the common prefix (the visual tokens and the prompt) on B rows and the K captions on
        top of its key/value cache; an encoder-decoder runs its encoder on B rows. Same logits (and gradients) as
        repeating the video K times, for ~1/K of the prefix's work. Returns None (and the caller takes the general
        path) for inputs it does not cover: labels, extra outputs, gradient checkpointing, unshared prefixes.

        Decoder-only, the captions also skip most of their padding: rows are run in up to two groups by length
        (`_length_chunks`), each cut after its longest caption, and the logits of positions a row's group did not
        run (all after the row's attention mask ends) are 0."""
        decoder_only = self.config.use_decoder_only_language_model
        allowed = {"return_dict"} if decoder_only else {"return_dict", "decoder_input_ids", "decoder_attention_mask"}
        if input_ids is None or not set(kwargs) <= allowed or kwargs.get("return_dict") is False:
            return None
        if self.training and any(getattr(m, "gradient_checkpointing", False) for m in self.language_model.modules()):
            return None  # checkpointed layers run without a cache
        rows, length = input_ids.shape
        if rows != video_embeds.shape[0] * k:
            return None  # the general path raises the error naming the mismatch
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        grouped_ids, grouped_mask = input_ids.view(-1, k, length), mask.view(-1, k, length)
        same = (grouped_ids == grouped_ids[:, :1]).all(dim=1) & (grouped_mask == grouped_mask[:, :1]).all(dim=1)
        if decoder_only:
            same &= (grouped_mask == 1).all(dim=1)  # positions come from the mask's running count: no padding
        prefix = int(same.all(dim=0).long().cumprod(dim=0).sum())
        prefix = min(prefix, length - 1) if decoder_only else prefix
        image_token = self.config.image_token_id
        video_ids = input_ids[::k, :prefix]
        slots = video_ids == image_token
        if prefix < (length if not decoder_only else 1) or bool((input_ids[:, prefix:] == image_token).any()):
            return None
        if int(slots[0].sum()) != video_embeds.shape[1] or not bool((slots.sum(dim=1) == slots[0].sum()).all()):
            return None
        embeds = self.get_input_embeddings()(video_ids)
        embeds = embeds.masked_scatter(slots.unsqueeze(-1), video_embeds.to(embeds.dtype))
        if decoder_only:
            head = self.language_model(inputs_embeds=embeds, attention_mask=mask[::k, :prefix], use_cache=True)
            cache = output_cache(head)
            tail_mask = mask[:, prefix:]
            pieces, order = [], []
            # Each row's video's cached prefix: repeated K times (whose backward sums the K rows' gradients in a
            # fixed order), then each group's rows selected without repeats. Selecting a video's row K times
            # directly would sum the K gradients with CPU atomic adds in a varying order: not bitwise repeatable.
            per_row = [(layer.keys.repeat_interleave(k, dim=0), layer.values.repeat_interleave(k, dim=0)) for layer in cache.layers]
            for index, width in _length_chunks(tail_mask):
                rows_cache = DynamicCache()
                for layer_idx, (keys, values) in enumerate(per_row):
                    rows_cache.update(keys[index], values[index], layer_idx)
                out = self.language_model(
                    input_ids=input_ids[index, prefix : prefix + width],
                    attention_mask=mask[index, : prefix + width],
                    use_cache=False,
                    **cache_kwargs(rows_cache),
                )
                pieces.append(nn.functional.pad(out.logits, (0, 0, 0, tail_mask.shape[1] - width)))
                order.append(index)
            tail = torch.cat(pieces)[torch.cat(order).argsort()]
            logits = torch.cat([head.logits.repeat_interleave(k, dim=0), tail], dim=1)
            outputs = CausalLMOutputWithPast(logits=logits)
        else:
            encoded = self.language_model.get_encoder()(
                inputs_embeds=embeds, attention_mask=mask[::k], return_dict=True
            )
            encoded.last_hidden_state = encoded.last_hidden_state.repeat_interleave(k, dim=0)
            outputs = self.language_model(encoder_outputs=encoded, attention_mask=mask, return_dict=True, **{
                key: value for key, value in kwargs.items() if key != "return_dict"
            })
            logits = outputs.logits
        return Blip2ForConditionalGenerationModelOutput(logits=logits, language_model_outputs=outputs)

    @torch.no_grad()
    def generate(
        self,
        pixel_values: torch.Tensor | None = None,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        video_embeds: torch.Tensor | None = None,
        **generate_kwargs,
    ) -> torch.LongTensor:
        """Caption videos. Like [`Blip2ForConditionalGeneration.generate`]: for a decoder-only language model the
        returned ids start with ``input_ids`` (the image placeholders and the prompt)."""
        if video_embeds is None:
            if pixel_values is None:
                raise ValueError("generate needs pixel_values (B, T, C, H, W) or video_embeds (B, Q, D_lm).")
            video_embeds = self.get_video_embeds(pixel_values)
        batch_size = video_embeds.shape[0]
        if input_ids is None:
            start = [self.config.image_token_id] * video_embeds.shape[1] + [self.config.text_config.bos_token_id]
            input_ids = torch.tensor([start], dtype=torch.long, device=video_embeds.device).repeat(batch_size, 1)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs_embeds = self.get_input_embeddings()(input_ids)
        image_mask = (input_ids == self.config.image_token_id).unsqueeze(-1)
        if int(image_mask[0].sum()) != video_embeds.shape[1]:
            raise ValueError(
                f"input_ids hold {int(image_mask[0].sum())} image placeholders per row but the video gives "
                f"{video_embeds.shape[1]} visual tokens; build the processor with num_query_tokens="
                f"{video_embeds.shape[1]} (model.num_visual_tokens(T))."
            )
        inputs_embeds = inputs_embeds.masked_scatter(image_mask, video_embeds.to(inputs_embeds.dtype))
        inputs = {"inputs_embeds": inputs_embeds, "attention_mask": attention_mask}
        if not self.language_model.config.is_encoder_decoder:
            inputs["input_ids"] = input_ids
        return self.language_model.generate(**inputs, **generate_kwargs)


def _length_chunks(mask: torch.Tensor, min_saving: float = 0.2) -> list[tuple[torch.Tensor, int]]:
    """Rows of a right-padded ``mask`` (N, L) as ``(row indices, width)`` groups: one group of every row at the
    longest length, or two (short rows cut at their longest, the rest at the longest overall) when that runs at
    least ``min_saving`` fewer positions. Each extra group costs one more language-model call."""
    rows, width = mask.shape
    positions = torch.arange(1, width + 1, device=mask.device)
    lengths = (mask * positions).amax(dim=1).clamp(min=1)  # one past each row's last unmasked position
    order = lengths.argsort(stable=True)
    ordered = lengths[order].tolist()
    longest = ordered[-1]
    # Splitting after the i-th shortest row: i rows at ordered[i - 1] positions, the rest at the longest.
    costs = [i * ordered[i - 1] + (rows - i) * longest for i in range(1, rows)]
    if not costs or min(costs) > (1 - min_saving) * rows * longest:
        return [(order, longest)]
    split = 1 + costs.index(min(costs))
    return [(order[:split], ordered[split - 1]), (order[split:], longest)]


__all__ = ["VideoBlip2ForConditionalGeneration"]
