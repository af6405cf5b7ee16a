"""Any transformers video VLM as an hf_vidcap captioner.

`as_video_captioner(model, processor)` gives a loaded ``AutoModelForImageTextToText`` (Qwen2-VL, Qwen2.5-VL, ...) the
captioner contract (`VideoCaptionerMixin`) by switching its class to a subclass that adds the contract's methods:
its weights, state-dict keys, config and ``save_pretrained`` output stay the original model's, so a checkpoint
trained here loads with the model's own class too. The video is encoded once (``get_video_embeds``) and handed to
the model's forward and ``generate`` as precomputed encoder outputs (transformers' ``mm_encoder_outputs``): K
captions of a video share one vision-tower pass.

The families differ in where their video tower is and which per-video inputs (the patch grid) their forward needs;
`VLM_FAMILIES` holds that per ``model_type``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.modeling_outputs import BaseModelOutputWithPooling

from ..captioner import VideoCaptionerMixin


@dataclass(frozen=True)
class VLMFamily:
    """How one VLM family takes videos.

    Attributes:
        vision_tower (`str`): attribute path of the vision tower.
        visual_extras (`tuple[str]`): other modules between the frames and the language model (projectors).
        flat_pixels (`bool`): the processor concatenates every video's patches along dim 0 (Qwen-VL) rather than
            giving one row per video (LLaVA: (B, T, C, H, W)).
        tuple_features (`bool`): the model's ``mm_encoder_outputs`` take one tensor per video (Qwen-VL) rather than
            one (B, V, D) tensor.
        features_method (`str`): the model's method that encodes the video pixels.
        features_key (`str`): its entry in ``mm_encoder_outputs`` (``"video"``; SmolVLM encodes a video's frames as
            images: ``"image"``).
        generate_from_embeddings (`bool`): the model's own ``generate`` re-encodes the pixels (InstructBLIPVideo):
            generation runs its language model on the prompt's embeddings with the video tokens written in.
        deepstack (`bool`): the encoder also gives features of earlier vision layers for the language model's first
            layers (Qwen3-VL's DeepStack); they travel in ``video_embeds`` concatenated after the tokens along the
            feature dimension, so K-fold repetition and caching treat them as one tensor.
    """

    vision_tower: str
    visual_extras: tuple = ()
    flat_pixels: bool = True
    tuple_features: bool = True
    features_method: str = "get_video_features"
    features_key: str = "video"
    generate_from_embeddings: bool = False
    deepstack: bool = False


VLM_FAMILIES: dict[str, VLMFamily] = {
    "qwen2_vl": VLMFamily("model.visual"),
    "qwen2_5_vl": VLMFamily("model.visual"),
    "qwen3_vl": VLMFamily("model.visual", deepstack=True),
    "llava_onevision": VLMFamily("model.vision_tower", ("model.multi_modal_projector",), flat_pixels=False, tuple_features=False),
    "instructblipvideo": VLMFamily("vision_model", ("qformer", "language_projection"), flat_pixels=False, tuple_features=False, generate_from_embeddings=True),
    "smolvlm": VLMFamily("model.vision_model", ("model.connector",), flat_pixels=False, features_method="get_image_features", features_key="image"),
    "llava_next_video": VLMFamily("model.vision_tower", ("model.vision_resampler", "model.multi_modal_projector"), flat_pixels=False, tuple_features=False),
}


def _attribute(obj, path: str):
    for part in path.split("."):
        # a submodule by its registered name first: the mixin's ``vision_model`` property must not shadow a model's
        # own ``vision_model`` submodule (InstructBLIPVideo)
        modules = getattr(obj, "_modules", {})
        obj = modules[part] if part in modules else getattr(obj, part)
    return obj


class VideoVLMCaptionerMixin(VideoCaptionerMixin):
    """The captioner contract on top of a transformers VLM (mixed in by `as_video_captioner`)."""

    vlm_family: VLMFamily

    # -- set-up -------------------------------------------------------------------------------------------------

    def configure_video_inputs(self, processor) -> None:
        """Take the per-video inputs (the patch grid) and the media token types from the `VideoVLMProcessor` the
        videos are prepared with (every video of a run has the same layout)."""
        self._video_static = processor.video_static_inputs(1)
        self._media_types: dict[int, int] = {}
        inner = processor.processor
        for attribute, kind in (("image_token_id", 1), ("video_token_id", 2)):
            token = getattr(inner, attribute, None)
            if token is not None:
                self._media_types[int(token)] = kind
        self._uses_token_types = processor._prefix_inputs().get("mm_token_type_ids") is not None

    def _static(self, rows: int) -> dict:
        static = getattr(self, "_video_static", None)
        if static is None:
            raise ValueError(f"{type(self).__name__}: its video layout is unknown; call as_video_captioner(model, processor) or model.configure_video_inputs(processor) first.")
        return {key: value.to(self.device).expand(rows, *value.shape[1:]).contiguous() for key, value in static.items()}

    def _token_types(self, input_ids: torch.Tensor) -> torch.Tensor:
        types = torch.zeros_like(input_ids)
        for token, kind in self._media_types.items():
            types = types.masked_fill(input_ids == token, kind)
        return types

    # -- the contract ---------------------------------------------------------------------------------------------

    @property
    def vision_model(self):
        return _attribute(self, self.vlm_family.vision_tower)

    def visual_modules(self) -> dict:
        modules = {"vision_model": self.vision_model}
        modules.update({path.rsplit(".", 1)[-1]: _attribute(self, path) for path in self.vlm_family.visual_extras})
        own = {name: p for name, p in self.named_parameters(recurse=False)}  # e.g. InstructBLIP's query tokens
        if own:
            modules["own_parameters"] = torch.nn.ParameterDict(own)
        return modules

    def get_video_embeds(self, pixel_values: torch.Tensor | None = None, frame_features: torch.Tensor | None = None) -> torch.Tensor:
        """(B, V, D) video tokens as the language model reads them (after the family's merger / projector)."""
        if frame_features is not None:
            return frame_features.flatten(1, 2)
        batch = pixel_values.shape[0]
        pixels = pixel_values.flatten(0, 1) if self.vlm_family.flat_pixels else pixel_values
        encode = getattr(self, self.vlm_family.features_method)
        output = encode(pixels.to(self.vision_model.dtype if hasattr(self.vision_model, "dtype") else pixels.dtype), **self._static(batch), return_dict=True)
        embeds = self._per_video(output.pooler_output, batch)
        if self.vlm_family.deepstack:
            embeds = torch.cat([embeds] + [self._per_video(layer, batch) for layer in output.deepstack_features], dim=-1)
        return embeds

    @staticmethod
    def _per_video(features, batch: int) -> torch.Tensor:
        return torch.stack(list(features)) if isinstance(features, (tuple, list)) else features.reshape(batch, -1, features.shape[-1])

    def get_frame_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The video tokens grouped by temporal patch: (B, T', V / T', D) (T' = frames / temporal patch size)."""
        embeds = self.get_video_embeds(pixel_values)
        groups = self.num_frame_feature_groups()
        return embeds.reshape(embeds.shape[0], groups, -1, embeds.shape[-1])

    def num_frame_feature_groups(self, num_frames: int | None = None) -> int:
        grid = self._static(1).get("video_grid_thw")
        return int(grid[0, 0]) if grid is not None else 1

    def _encoder_outputs(self, video_embeds: torch.Tensor) -> dict:
        width = self.config.get_text_config().hidden_size
        parts = video_embeds.split(width, dim=-1) if self.vlm_family.deepstack else (video_embeds,)

        def packed(x):
            return tuple(x.unbind(0)) if self.vlm_family.tuple_features else x

        output = BaseModelOutputWithPooling(pooler_output=packed(parts[0]))
        output.vision_outputs, output.qformer_outputs = None, None  # read (and returned) by the Q-Former families
        if self.vlm_family.deepstack:
            output.deepstack_features = [packed(layer) for layer in parts[1:]]
        return {self.vlm_family.features_key: output}

    def forward(
        self, input_ids=None, attention_mask=None, pixel_values=None, video_embeds=None, frame_features=None, captions_per_video: int = 1,
        video_grid_thw=None, mm_token_type_ids=None, mm_encoder_outputs=None, **kwargs,
    ):
        """The model's forward on prefix + caption rows with the video tokens of ``pixel_values`` (B, ...) encoded
        once (or precomputed ``video_embeds`` / ``frame_features``); rows are grouped by video, K per video. Without
        them, the model's own forward (as ``generate`` calls it)."""
        if pixel_values is None and video_embeds is None and frame_features is None:
            passed = {"video_grid_thw": video_grid_thw, "mm_token_type_ids": mm_token_type_ids, "mm_encoder_outputs": mm_encoder_outputs}
            return super().forward(input_ids=input_ids, attention_mask=attention_mask, **{k: v for k, v in passed.items() if v is not None}, **kwargs)
        if pixel_values is not None and video_embeds is None and frame_features is None:
            video_embeds = self.get_video_embeds(pixel_values)
            pixel_values = None
        _, video_embeds = self.resolve_visual_inputs(None, video_embeds, frame_features, captions_per_video)
        rows = input_ids.shape[0]
        if video_embeds.shape[0] != rows:
            raise ValueError(f"{video_embeds.shape[0]} videos' tokens for {rows} text rows; pass captions_per_video={rows // max(video_embeds.shape[0], 1)}.")
        extra = {"mm_token_type_ids": self._token_types(input_ids)} if self._uses_token_types else {}
        self._forget_positions()
        return super().forward(
            input_ids=input_ids, attention_mask=attention_mask, mm_encoder_outputs=self._encoder_outputs(video_embeds), pixel_values=None,
            **self._static(rows), **extra, **kwargs,
        )

    def generate(self, pixel_values=None, input_ids=None, video_embeds=None, **kwargs):
        """``generate`` from the prefix ``input_ids`` (one row per video) and the video, encoded once."""
        self._forget_positions()
        if pixel_values is not None:
            video_embeds = self.get_video_embeds(pixel_values)
        if video_embeds is None:
            return super().generate(input_ids=input_ids, **kwargs)
        rows = input_ids.shape[0]
        kwargs.setdefault("attention_mask", torch.ones_like(input_ids))
        if self.vlm_family.generate_from_embeddings:
            return self._generate_from_embeddings(input_ids, video_embeds, **kwargs)
        extra = {"mm_token_type_ids": self._token_types(input_ids)} if self._uses_token_types else {}
        return super().generate(input_ids=input_ids, mm_encoder_outputs=self._encoder_outputs(video_embeds), **self._static(rows), **extra, **kwargs)

    def _generate_from_embeddings(self, input_ids, video_embeds, **kwargs):
        """The language model's ``generate`` on the prompt's embeddings with the video tokens written in; the output
        starts with the prompt, as a decoder-only model's ``generate`` from ``input_ids`` does."""
        embeds = self.get_input_embeddings()(input_ids)
        slots = (input_ids == self.config.video_token_index).unsqueeze(-1)
        embeds = embeds.masked_scatter(slots, video_embeds.to(embeds.dtype).reshape(-1, embeds.shape[-1]))
        output = self.language_model.generate(inputs_embeds=embeds, **kwargs)
        if self.config.get_text_config().is_encoder_decoder:
            return output
        sequences = output if torch.is_tensor(output) else output.sequences
        prompt = input_ids.repeat_interleave(sequences.shape[0] // input_ids.shape[0], dim=0)  # K returned per video
        if torch.is_tensor(output):
            return torch.cat([prompt, sequences], dim=1)
        output.sequences = torch.cat([prompt, sequences], dim=1)
        return output

    def _forget_positions(self) -> None:
        """Drop the M-RoPE offsets a previous forward of another batch size left on the model (Qwen-VL keeps them
        between calls for incremental decoding)."""
        inner = getattr(self, "model", None)
        if inner is not None and getattr(inner, "rope_deltas", None) is not None:
            inner.rope_deltas = None

    def save_pretrained(self, *args, **kwargs):
        """Saved as the original model (its class name in ``config.architectures``)."""
        self.config.architectures = [self._vlm_base.__name__]
        return super().save_pretrained(*args, **kwargs)


_CLASSES: dict[type, type] = {}


def _forward_with_signature(base: type):
    """The mixin's forward, advertising the base forward's parameters too: ``generate`` inspects the forward's
    signature to decide which inputs it prepares (``position_ids``: the VLM's multimodal positions; ``logits_to_keep``),
    so a forward that hid them behind ``**kwargs`` would be fed differently from the model's own."""
    import inspect

    def forward(self, *args, **kwargs):
        return VideoVLMCaptionerMixin.forward(self, *args, **kwargs)

    theirs = [v for v in inspect.signature(base.forward).parameters.values() if v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL)]
    known = {v.name for v in theirs}
    ours = [
        inspect.Parameter(v.name, inspect.Parameter.KEYWORD_ONLY, default=v.default)
        for v in inspect.signature(VideoVLMCaptionerMixin.forward).parameters.values()
        if v.kind != v.VAR_KEYWORD and v.name not in known
    ]
    parameters = [v for v in theirs if v.kind != v.KEYWORD_ONLY] + [v for v in theirs if v.kind == v.KEYWORD_ONLY] + ours
    parameters.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    forward.__signature__ = inspect.Signature(parameters)
    forward.__doc__ = VideoVLMCaptionerMixin.forward.__doc__
    return forward


def supported_vlm_types() -> list[str]:
    return sorted(VLM_FAMILIES)


def as_video_captioner(model, processor=None):
    """``model`` (a transformers VLM) with the captioner contract, in place; ``processor`` a `VideoVLMProcessor`
    (or later: `VideoSCSTTrainer` and the evaluation hand theirs over with `configure_captioner`).

    Raises:
        `ValueError`: naming the supported families when ``model``'s type has no entry in `VLM_FAMILIES`.
    """
    if isinstance(model, VideoVLMCaptionerMixin):
        if processor is not None:
            model.configure_video_inputs(processor)
        return model
    model_type = model.config.model_type
    if model_type not in VLM_FAMILIES:
        raise ValueError(f"{type(model).__name__} (model_type {model_type!r}) is not a supported video VLM; supported: {supported_vlm_types()}.")
    base = type(model)
    if base not in _CLASSES:
        _CLASSES[base] = type(
            f"VideoCaptioning{base.__name__}", (VideoVLMCaptionerMixin, base),
            {"vlm_family": VLM_FAMILIES[model_type], "_vlm_base": base, "forward": _forward_with_signature(base)},
        )
    model.__class__ = _CLASSES[base]
    if processor is not None:
        model.configure_video_inputs(processor)
    return model
