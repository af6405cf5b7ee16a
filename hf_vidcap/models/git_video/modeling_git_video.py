"""GIT as a video captioner: every frame through the image encoder, a learned temporal embedding per frame, the
frames' tokens concatenated (transformers' GIT video behaviour) or averaged over time (ReGen), then the text
decoder attends to them bidirectionally and causally to the caption.

Shapes: B videos, T frames, P patch tokens per frame (plus CLS), V visual tokens (T * (P + 1) or P + 1), D sizes.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import GitForCausalLM
from transformers.cache_utils import Cache, DynamicCache
from transformers.masking_utils import create_causal_mask
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.models.git.modeling_git import GitModel, GitPreTrainedModel
from transformers.utils.generic import can_return_tuple, merge_with_config_defaults
from transformers.utils.output_capturing import capture_outputs

from ..cache_compat import cache_kwargs, output_cache, resolve_cache
from ..captioner import VideoCaptionerMixin
from .configuration_git_video import VideoGitConfig

# transformers 4.x named the temporal embedding ``img_temperal_embedding``; 5.x ``img_temporal_embedding``.
LEGACY_KEY_MAPPING = {r"img_temperal_embedding": "img_temporal_embedding"}


def convert_legacy_git_state_dict(state_dict: dict) -> dict:
    """Rename the 4.x temporal-embedding keys (``git.img_temperal_embedding.<t>``) to the current names."""
    return {key.replace("img_temperal_embedding", "img_temporal_embedding"): value for key, value in state_dict.items()}


class VideoGitModel(GitModel):
    """[`GitModel`] whose visual tokens come from `get_video_embeds` (either fusion mode) or are passed in."""

    config_class = VideoGitConfig

    def __init__(self, config: VideoGitConfig):
        super().__init__(config)
        tokens_per_frame = (config.vision_config.image_size // config.vision_config.patch_size) ** 2 + 1
        visual = tokens_per_frame * (config.num_image_with_embedding if config.frame_fusion == "concat" else 1)
        for layer in self.encoder.layer:  # the largest number of visual tokens (used by transformers' own paths)
            layer.attention.self.image_patch_tokens = visual

    def get_frame_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The image encoder's tokens (B, T, P + 1, D_v) for videos (B, T, C, H, W) or images (B, C, H, W)."""
        if pixel_values.ndim == 4:
            pixel_values = pixel_values.unsqueeze(1)
        if pixel_values.ndim != 5:
            raise ValueError(f"pixel_values must have shape (B, T, C, H, W) or (B, C, H, W), got {tuple(pixel_values.shape)}.")
        tokens = self.image_encoder(pixel_values.flatten(0, 1)).last_hidden_state
        return tokens.unflatten(0, pixel_values.shape[:2])

    def get_video_embeds(self, pixel_values: torch.Tensor | None = None, frame_features: torch.Tensor | None = None) -> torch.Tensor:
        """Projected visual tokens (B, V, D) for videos (B, T, C, H, W) or their ``frame_features``."""
        if frame_features is None:
            if pixel_values is None:
                raise ValueError("get_video_embeds needs pixel_values (B, T, C, H, W) or frame_features (B, T, P + 1, D_v).")
            frame_features = self.get_frame_features(pixel_values)
        elif frame_features.ndim != 4:
            raise ValueError(f"frame_features must have shape (B, T, P + 1, D_v), got {tuple(frame_features.shape)}.")
        num_frames = frame_features.shape[1]
        if num_frames > len(self.img_temporal_embedding):
            raise ValueError(
                f"the video has {num_frames} frames but the temporal embedding has num_image_with_embedding="
                f"{len(self.img_temporal_embedding)} rows; sample fewer frames or raise num_image_with_embedding."
            )
        temporal = torch.stack([self.img_temporal_embedding[t] for t in range(num_frames)], dim=1)  # (1, T, 1, D_v)
        frame_features = frame_features + temporal.to(frame_features.dtype)
        if self.config.frame_fusion == "mean":
            visual = frame_features.mean(dim=1)
        else:
            visual = frame_features.flatten(1, 2)
        return self.visual_projection(visual)

    @merge_with_config_defaults
    @capture_outputs
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        cache: Cache | None = None,
        use_cache: bool | None = None,
        video_embeds: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast:
        """``hidden_states`` / ``attentions`` (when asked) cover the visual and the text positions, as in GIT."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids or inputs_embeds.")
        past_key_values = resolve_cache(cache, past_key_values)
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache(config=self.config)
        past_length = past_key_values.get_seq_length() if past_key_values is not None else 0
        text = input_ids if input_ids is not None else inputs_embeds[..., 0]
        batch_size, length = text.shape[:2]
        if past_length == 0:
            if video_embeds is None and pixel_values is not None:
                video_embeds = self.get_video_embeds(pixel_values)
            num_visual, past_text = (0 if video_embeds is None else video_embeds.shape[1]), 0
            if past_key_values is not None:
                # Remembered for the cached steps, whose inputs (mask, position ids) cover the text only.
                past_key_values.num_visual_tokens = num_visual
        else:
            num_visual = getattr(past_key_values, "num_visual_tokens", None)
            if num_visual is None:
                raise ValueError("this cache was not filled by VideoGitModel (it does not know its number of visual tokens).")
            past_text, video_embeds = past_length - num_visual, None
        if position_ids is None or past_length > 0:
            # Text positions count text tokens only (the visual tokens have no position embedding).
            position_ids = torch.arange(past_text, past_text + length, device=text.device).unsqueeze(0)
        hidden_states = self.embeddings(input_ids=input_ids, position_ids=position_ids, inputs_embeds=inputs_embeds)
        token_type_ids = torch.zeros((batch_size, length), dtype=torch.int, device=hidden_states.device)
        if video_embeds is not None:
            if video_embeds.shape[0] != batch_size:
                if batch_size % video_embeds.shape[0]:
                    raise ValueError(f"{batch_size} text rows do not divide into {video_embeds.shape[0]} videos.")
                video_embeds = video_embeds.repeat_interleave(batch_size // video_embeds.shape[0], dim=0)
            hidden_states = torch.cat([video_embeds.to(hidden_states.dtype), hidden_states], dim=1)
            visual_types = torch.ones(video_embeds.shape[:2], dtype=torch.int, device=hidden_states.device)
            token_type_ids = torch.cat([visual_types, token_type_ids], dim=1)
        if attention_mask is not None and num_visual > 0:
            attention_mask = torch.cat([attention_mask.new_ones((batch_size, num_visual)), attention_mask], dim=1)
        # Visual tokens attend to each other bidirectionally; the text is causal.
        # The cache goes positionally: its keyword is past_key_values up to transformers 5.23 and cache from 5.24.
        causal_mask = create_causal_mask(
            self.config.get_text_config(),
            hidden_states,
            attention_mask,
            past_key_values,
            position_ids=position_ids,
            block_sequence_ids=torch.where(token_type_ids == 1, 0, -1),
        )
        outputs = self.encoder(hidden_states, causal_mask, past_key_values, use_cache=use_cache, **kwargs)
        return BaseModelOutputWithPast(last_hidden_state=outputs.last_hidden_state, **cache_kwargs(output_cache(outputs)))


class VideoGitForCausalLM(VideoCaptionerMixin, GitForCausalLM):
    r"""
    [`GitForCausalLM`] for ``pixel_values`` of shape (B, T, C, H, W), with two frame-fusion modes
    (``config.frame_fusion``: ``"concat"`` as transformers' GIT, ``"mean"`` as ReGen), precomputed ``video_embeds``
    (K captions of one video reuse one encoding: ``captions_per_video``), and any T up to
    ``num_image_with_embedding`` (the loss is aligned on the actual number of visual tokens, where GIT's own
    forward assumes exactly ``num_image_with_embedding`` frames).

    Loads every GIT checkpoint, including 4.x-format state dicts whose temporal embedding is named
    ``img_temperal_embedding`` (renamed on load; see `convert_legacy_git_state_dict`).
    """

    config_class = VideoGitConfig
    frames_config_key = "num_image_with_embedding"

    def __init__(self, config: VideoGitConfig):
        # GitForCausalLM.__init__ would build a GitModel only to replace it: build the video one directly.
        GitPreTrainedModel.__init__(self, config)
        self.git = VideoGitModel(config)
        self.output = nn.Linear(config.hidden_size, config.vocab_size)
        self.post_init()

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        # Older checkpoints spell the temporal embedding "temperal": without the mapping it would load as zeros.
        kwargs.setdefault("key_mapping", dict(LEGACY_KEY_MAPPING))
        return super().from_pretrained(*args, **kwargs)

    @property
    def vision_model(self) -> nn.Module:
        """The image encoder (what ``cache_video_features`` checks is frozen)."""
        return self.git.image_encoder

    def visual_modules(self) -> dict[str, nn.Module]:
        """The modules that turn frames into visual tokens (the rest is the text decoder)."""
        return {
            "image_encoder": self.git.image_encoder,
            "visual_projection": self.git.visual_projection,
            "img_temporal_embedding": self.git.img_temporal_embedding,
        }

    def get_frame_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.git.get_frame_features(pixel_values)

    def get_video_embeds(self, pixel_values: torch.Tensor | None = None, frame_features: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's visual tokens (B, V, D) for videos (B, T, C, H, W) or their ``frame_features``."""
        return self.git.get_video_embeds(pixel_values, frame_features=frame_features)

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        cache: Cache | None = None,
        use_cache: bool | None = None,
        video_embeds: torch.Tensor | None = None,
        captions_per_video: int = 1,
        frame_features: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        r"""
        Same as [`GitForCausalLM.forward`], with ``pixel_values`` (B, T, C, H, W), ``frame_features``
        (B, T, P + 1, D_v) or ``video_embeds`` (B, V, D). ``logits`` cover the visual and the text positions, as in
        GIT; the loss is over the text. ``captions_per_video``: K captions per video, grouped by video (B * K
        text rows); each video is encoded once. The key/value cache is accepted as ``cache`` or, as before
        transformers 5.24, ``past_key_values``.
        """
        pixel_values, video_embeds = self.resolve_visual_inputs(pixel_values, video_embeds, frame_features, captions_per_video)
        if pixel_values is not None:
            # Through this class's get_video_embeds, so that a subclass overriding it is used on every path.
            video_embeds, pixel_values = self.get_video_embeds(pixel_values), None
        outputs = self.git(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            pixel_values=pixel_values,
            inputs_embeds=inputs_embeds,
            cache=resolve_cache(cache, past_key_values),
            use_cache=use_cache,
            video_embeds=video_embeds,
            **kwargs,
        )
        logits = self.output(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            num_visual = logits.shape[1] - labels.shape[1]
            shifted = logits[:, num_visual:-1].float()
            loss = nn.functional.cross_entropy(shifted.reshape(-1, shifted.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
        return CausalLMOutputWithPast(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            **cache_kwargs(output_cache(outputs)),
        )

    @torch.no_grad()
    def generate(
        self,
        pixel_values: torch.Tensor | None = None,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        video_embeds: torch.Tensor | None = None,
        **generate_kwargs,
    ) -> torch.LongTensor:
        """Caption videos; the returned ids start with ``input_ids`` (bos, then the prompt)."""
        if video_embeds is None:
            if pixel_values is None:
                raise ValueError("generate needs pixel_values (B, T, C, H, W) or video_embeds (B, V, D).")
            video_embeds = self.get_video_embeds(pixel_values)
        if input_ids is None:
            input_ids = torch.full((video_embeds.shape[0], 1), self.config.bos_token_id, dtype=torch.long, device=video_embeds.device)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return super().generate(input_ids=input_ids, attention_mask=attention_mask, video_embeds=video_embeds, **generate_kwargs)


__all__ = ["VideoGitForCausalLM", "VideoGitModel", "convert_legacy_git_state_dict"]
