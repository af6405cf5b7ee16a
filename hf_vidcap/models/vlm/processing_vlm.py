"""The processor of a transformers video VLM as a video-caption processor: frames sampled by our collator go through
the model's own processor (its resizing, patching and token counts), the prompt through its chat template."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from ..processing_video_caption import VideoCaptionProcessor

DEFAULT_PROMPT = "Describe this video."
VLM_PROCESSOR_CONFIG_NAME = "video_caption_vlm_config.json"


class VideoVLMProcessor(VideoCaptionProcessor):
    r"""
    Wraps a VLM's processor (one whose ``__call__`` takes ``videos=``) for hf_vidcap's collator and trainer.

    Every video of a run has the same number of frames (``num_frames``) and the same frame size (``image_size``),
    so the model's processor gives each the same number of video tokens: the prompt with its video placeholders
    (`prefix_ids`) is one token sequence for all videos, and a batch's video inputs stack along a batch dimension
    (``pixel_values`` of shape (B, ...), the per-video grid, when the model has one, being the same for all).

    Args:
        processor ([`ProcessorMixin`]): the VLM's processor (`AutoProcessor.from_pretrained(checkpoint)`).
        num_frames (`int`): frames sampled per video.
        image_size (`int`, *optional*, defaults to 224): frames are resized to ``image_size`` x ``image_size``
            before the model's processor (which may resize again, e.g. to multiples of its patch size).
        prompt (`str`, *optional*, defaults to ``"Describe this video."``): the user turn after the video.
        system_prompt (`str`, *optional*): a system turn, when the chat template has one.
    """

    def __init__(self, processor, num_frames: int, image_size: int = 224, prompt: str = DEFAULT_PROMPT, system_prompt: str | None = None):
        if getattr(processor, "video_processor", None) is None:
            raise ValueError(
                f"{type(processor).__name__} has no video processor, so the model takes no videos; use a video VLM "
                "(Qwen2-VL, Qwen2.5-VL, Qwen3-VL, LLaVA-OneVision, LLaVA-NeXT-Video, InstructBLIPVideo, SmolVLM2)."
            )
        if num_frames < 1:
            raise ValueError(f"num_frames ({num_frames}) must be >= 1.")
        super().__init__(processor.tokenizer, image_size=image_size, prompt="", frame_differences="none")
        self.processor, self.num_frames, self.chat_prompt, self.system_prompt = processor, int(num_frames), prompt, system_prompt
        self.image_token_id = getattr(processor, "video_token_id", None)
        if self.image_token_id is None and getattr(processor, "video_token", None) is not None:  # InstructBLIPVideo
            self.image_token_id = processor.tokenizer.convert_tokens_to_ids(str(processor.video_token))
        self._prefix: dict | None = None
        self._prompt_static: dict = {}
        self._static: dict | None = None

    # ------------------------------------------------------------------------------------------- prompt

    def prompt_text(self) -> str:
        """The prompt through the chat template (the prompt itself for models without one: InstructBLIPVideo)."""
        if getattr(self.processor, "chat_template", None) is None and getattr(self.tokenizer, "chat_template", None) is None:
            return self.chat_prompt
        messages = [] if self.system_prompt is None else [{"role": "system", "content": [{"type": "text", "text": self.system_prompt}]}]
        messages.append({"role": "user", "content": [{"type": "video"}, {"type": "text", "text": self.chat_prompt}]})
        return self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _processed(self, videos: list[np.ndarray], with_text: bool) -> dict:
        import inspect

        text = [self.prompt_text()] * len(videos) if with_text else None
        takes = inspect.signature(self.processor.__call__).parameters
        # InstructBLIPVideo's processor takes videos as ``images=``
        key = "images" if "videos" not in takes and "images" in takes else "videos"
        kwargs = {key: videos, "return_tensors": "pt"}
        if text is not None:
            kwargs["text"] = text
        try:
            return dict(self.processor(**kwargs, do_sample_frames=False))
        except TypeError:
            return dict(self.processor(**kwargs))

    def _prefix_inputs(self) -> dict:
        """input_ids (and mm_token_type_ids) of the prompt with the video placeholders of one video."""
        if self._prefix is None:
            dummy = np.zeros((self.num_frames, self.image_size, self.image_size, 3), dtype=np.uint8)
            out = self._processed([dummy], with_text=True)
            self._prefix = {key: out[key][0].tolist() for key in ("input_ids", "mm_token_type_ids") if key in out}
            # Per-prompt inputs of the visual encoder (InstructBLIP's Q-Former reads the instruction)
            self._prompt_static = {key: value[:1].clone() for key, value in out.items() if key.startswith("qformer_")}
            # The placeholder the video's tokens replace: the video token, or the image token for models that encode
            # a video's frames as images (SmolVLM).
            image_token = getattr(self.processor, "image_token_id", None)
            if self.image_token_id not in self._prefix["input_ids"] and image_token in self._prefix["input_ids"]:
                self.image_token_id = image_token
        return self._prefix

    def prefix_ids(self) -> list[int]:
        return list(self._prefix_inputs()["input_ids"])

    def token_type_ids(self, input_ids: torch.Tensor) -> torch.Tensor | None:
        """The model's ``mm_token_type_ids`` for rows of prefix + caption (captions hold no media tokens), or None
        for models without them."""
        types = self._prefix_inputs().get("mm_token_type_ids")
        if types is None:
            return None
        out = torch.zeros_like(input_ids)
        out[:, : len(types)] = torch.tensor(types, device=input_ids.device)
        return out

    def extra_suppressed_token_ids(self) -> list[int]:
        """Every special token but eos (media placeholders, vision start / end, chat turns): never in a caption."""
        return sorted(set(self.tokenizer.all_special_ids) - {self.tokenizer.eos_token_id})

    def caption_ids(self, captions: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        """Token ids of each caption (the assistant's answer) followed by eos."""
        eos = self.tokenizer.eos_token_id
        result = []
        for ids in self.tokenizer(list(captions), add_special_tokens=False)["input_ids"]:
            if max_length is not None:
                ids = ids[: max_length - 1]
            result.append(list(ids) + [eos])
        return result

    # ------------------------------------------------------------------------------------------- video

    def preprocess_videos(self, videos: Sequence[np.ndarray] | np.ndarray) -> torch.Tensor:
        """Frames (B videos of (T, H, W, 3) uint8) through the model's processor, stacked as (B, ...): every video
        gives the same shapes, so the model's flattened patches reshape to one row per video."""
        if isinstance(videos, np.ndarray) and videos.ndim == 4:
            videos = videos[None]
        arrays = [np.asarray(v) for v in videos]
        if not arrays:
            raise ValueError("videos is empty.")
        for i, array in enumerate(arrays):
            if array.ndim != 4 or array.shape[-1] != 3:
                raise ValueError(f"video {i} must have shape (T, H, W, 3), got {array.shape}.")
            if array.shape[0] != self.num_frames:
                raise ValueError(f"video {i} has {array.shape[0]} frames; this processor was set up for num_frames={self.num_frames} (the prompt's video tokens depend on it).")
        resized = [self._resize(a) for a in arrays]
        out = self._processed(resized, with_text=False)
        pixels = next((out[k] for k in ("pixel_values_videos", "pixel_values") if k in out), None)
        if pixels is None:
            raise ValueError(f"{type(self.processor).__name__} returned no pixel values for videos (keys {sorted(out)}).")
        static = {k: v for k, v in out.items() if k not in ("pixel_values_videos", "pixel_values")}
        self._check_static(static, len(arrays))
        return pixels.reshape(len(arrays), -1, *pixels.shape[1:]) if pixels.shape[0] != len(arrays) else pixels

    def _resize(self, array: np.ndarray) -> np.ndarray:
        if array.shape[1:3] == (self.image_size, self.image_size):
            return array
        frames = torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float()
        frames = torch.nn.functional.interpolate(frames, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False, antialias=True)
        return frames.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()

    def _check_static(self, static: dict, batch: int) -> None:
        """The per-video grid (e.g. ``video_grid_thw``) must be the same for every video and every batch."""
        one = {}
        for key, value in static.items():
            if torch.is_tensor(value) and value.shape[0] == batch:
                if not (value == value[:1]).all():
                    raise ValueError(f"videos of one batch gave different {key}; resize every video to the same frame size.")
                one[key] = value[:1].clone()
        if self._static is None:
            self._static = one
        elif any(not torch.equal(self._static[k], v) for k, v in one.items() if k in self._static):
            raise ValueError("this batch's video grid differs from the first batch's; keep num_frames and image_size fixed.")

    def video_static_inputs(self, num_videos: int) -> dict:
        """The model's per-video extra inputs (``video_grid_thw``, ...) for ``num_videos`` rows."""
        if self._static is None:
            self.preprocess_videos([np.zeros((self.num_frames, self.image_size, self.image_size, 3), dtype=np.uint8)])
        self._prefix_inputs()
        static = {**self._static, **self._prompt_static}
        return {key: value.expand(num_videos, *value.shape[1:]).clone() for key, value in static.items()}

    # ------------------------------------------------------------------------------------------- save / load

    def to_dict(self) -> dict:
        return {"processor_class": type(self).__name__, "num_frames": self.num_frames, "image_size": self.image_size, "prompt": self.chat_prompt, "system_prompt": self.system_prompt}

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs) -> None:
        import json

        os.makedirs(save_directory, exist_ok=True)
        self.processor.save_pretrained(save_directory)
        with open(os.path.join(save_directory, VLM_PROCESSOR_CONFIG_NAME), "w") as f:
            json.dump(self.to_dict(), f, indent=2)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs):
        """The checkpoint's own processor (`AutoProcessor`) with the saved settings (or ``num_frames=`` etc.)."""
        import json

        from transformers import AutoProcessor
        from transformers.utils import cached_file

        hub = {key: kwargs.pop(key) for key in ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder") if key in kwargs}
        for internal in ("_from_auto", "_from_pipeline", "trust_remote_code"):
            kwargs.pop(internal, None)
        processor = AutoProcessor.from_pretrained(pretrained_model_name_or_path, **hub)
        settings = {}
        path = cached_file(str(pretrained_model_name_or_path), VLM_PROCESSOR_CONFIG_NAME, _raise_exceptions_for_missing_entries=False, **hub)
        if path is not None:
            with open(path) as f:
                settings = json.load(f)
            settings.pop("processor_class", None)
        settings.update(kwargs)
        if "num_frames" not in settings:
            raise ValueError("num_frames is required: pass the frames sampled per video (the prompt's video tokens depend on it).")
        return cls(processor, **settings)
