"""The video-caption processor shared by the wrappers: frames to ``pixel_values`` with the model's own normalisation,
prompt and captions to token ids, save / load / push."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
import torch
from transformers.utils import PushToHubMixin

PROCESSOR_CONFIG_NAME = "video_processor_config.json"
# BLIP-2's image normalisation (OpenAI CLIP statistics).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# Keyword arguments of from_pretrained that say where to load from rather than override a setting.
_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "proxies")


class VideoCaptionProcessor(PushToHubMixin):
    r"""
    Turns videos and captions into video-captioner inputs; subclasses set the prefix the captions follow.

    Args:
        tokenizer ([`PreTrainedTokenizerBase`]):
            The language model's tokenizer. It needs an eos token (BERT-style tokenizers: ``[SEP]`` becomes eos
            and ``[CLS]`` bos, as GIT uses them).
        image_size (`int`, *optional*, defaults to `224`):
            Frames are resized to ``image_size`` x ``image_size``.
        image_mean, image_std (`tuple[float, float, float]`, *optional*, default to CLIP's statistics):
            Per-channel normalisation after scaling to [0, 1]: the model's own (read from the checkpoint's image
            processor by `from_pretrained`).
        prompt (`str`, *optional*, defaults to `""`):
            Text the captions continue, e.g. ``"a video of"``. It is the same for every video, so every prefix has
            the same length and no left padding is needed.
        frame_differences (`bool` or `str`, *optional*, defaults to `False`):
            Motion input. A difference image is a frame minus the previous one (divided by ``image_std``): positive
            where something arrived, negative where it left, so one ViT pass sees which way it moved.
            ``False`` or ``"none"``: the T frames only. ``"append"``: the T frames, then their T - 1 differences (2T - 1 images;
            the model's ``num_frames`` must allow them). ``True`` or ``"replace"``: the first frame, then the T - 1
            differences (T images). The model is unchanged (images of 3 channels); pretrained ViTs never saw
            difference images, but a model trained from scratch learns motion from them far faster than from raw
            frames (on the shapes world: the action named in 14% of captions from frames, over 80% with differences).
    """

    image_token_id: int | None = None

    def __init__(
        self,
        tokenizer,
        image_size: int = 224,
        image_mean: Sequence[float] = CLIP_MEAN,
        image_std: Sequence[float] = CLIP_STD,
        prompt: str = "",
        frame_differences: bool | str = False,
    ):
        self.tokenizer = tokenizer
        if tokenizer.eos_token_id is None and getattr(tokenizer, "sep_token", None) is not None:
            # BERT-style tokenizers (GIT): [CLS] starts a caption and [SEP] ends it.
            tokenizer.add_special_tokens({"eos_token": tokenizer.sep_token, "bos_token": tokenizer.bos_token or tokenizer.cls_token})
        if tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer has no eos_token; captions need an end-of-sequence token.")
        self.image_size = int(image_size)
        self.image_mean = tuple(float(x) for x in image_mean)
        self.image_std = tuple(float(x) for x in image_std)
        self.prompt = prompt
        modes = {False: "none", "none": "none", True: "replace", "replace": "replace", "append": "append"}
        if frame_differences not in modes:
            raise ValueError(
                f"frame_differences ({frame_differences!r}) must be one of 'none', 'replace', 'append' (or False / True)."
            )
        self.frame_differences = modes[frame_differences]
        if prompt and tokenizer.unk_token_id is not None:
            if tokenizer.unk_token_id in tokenizer(prompt, add_special_tokens=False)["input_ids"]:
                raise ValueError(
                    f"prompt ({prompt!r}) has words the tokenizer does not know (they become {tokenizer.unk_token!r}); "
                    "use a prompt within its vocabulary, or an empty prompt."
                )
        if len(self.image_mean) != 3 or len(self.image_std) != 3:
            raise ValueError("image_mean and image_std must have 3 values (RGB).")

    # ------------------------------------------------------------------------------------------- video

    def preprocess_videos(self, videos: Sequence[np.ndarray] | np.ndarray) -> torch.Tensor:
        """Frames to ``pixel_values``.

        Args:
            videos: a list of B uint8 arrays of shape (T, H, W, 3) (same T for all), a (B, T, H, W, 3) array, or
                one video as a (T, H, W, 3) array (B = 1).

        Returns:
            `torch.FloatTensor` of shape (B, T, 3, image_size, image_size).
        """
        if isinstance(videos, np.ndarray) and videos.ndim == 4:
            videos = videos[None]  # one (T, H, W, C) video
        arrays = [np.asarray(v) for v in videos]
        if not arrays:
            raise ValueError("videos is empty.")
        for i, array in enumerate(arrays):
            if array.ndim != 4 or array.shape[-1] != 3:
                raise ValueError(f"video {i} must have shape (T, H, W, 3), got {array.shape}.")
            if array.shape[0] != arrays[0].shape[0]:
                raise ValueError(
                    f"video {i} has {array.shape[0]} frames but video 0 has {arrays[0].shape[0]}; "
                    "sample the same number of frames from every video."
                )
        pixels = []
        for array in arrays:
            frames = torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float() / 255.0
            if frames.shape[-2:] != (self.image_size, self.image_size):
                frames = torch.nn.functional.interpolate(
                    frames, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False, antialias=True
                ).clamp_(0.0, 1.0)
            pixels.append(frames)
        pixel_values = torch.stack(pixels)
        mean = torch.tensor(self.image_mean).view(1, 1, 3, 1, 1)
        std = torch.tensor(self.image_std).view(1, 1, 3, 1, 1)
        frames = (pixel_values - mean) / std
        if self.frame_differences == "none":
            return frames
        differences = (pixel_values[:, 1:] - pixel_values[:, :-1]) / std
        kept = frames if self.frame_differences == "append" else frames[:, :1]
        return torch.cat([kept, differences], dim=1)

    def num_model_frames(self, num_frames: int) -> int:
        """How many images per video reach the model when ``num_frames`` frames are sampled."""
        return 2 * num_frames - 1 if self.frame_differences == "append" else num_frames

    def num_sampled_frames(self, num_model_frames: int) -> int:
        """The inverse of `num_model_frames`: how many frames to sample so that ``num_model_frames`` images (at most)
        reach the model (a checkpoint's ``config.num_frames`` counts the appended differences too)."""
        return (num_model_frames + 1) // 2 if self.frame_differences == "append" else num_model_frames

    # ------------------------------------------------------------------------------------------- text

    def prefix_ids(self) -> list[int]:
        """bos (when the tokenizer has one), then the prompt."""
        ids = []
        if self.tokenizer.bos_token_id is not None:
            ids.append(self.tokenizer.bos_token_id)
        if self.prompt:
            ids += self.tokenizer(self.prompt, add_special_tokens=False)["input_ids"]
        return ids

    def caption_ids(self, captions: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        """Token ids of each caption followed by eos, truncated to ``max_length`` tokens (eos included)."""
        eos = self.tokenizer.eos_token_id
        if eos is None:
            raise ValueError("the tokenizer has no eos_token; captions need an end-of-sequence token.")
        # Byte-level BPE tokenizers encode a word after a prompt with its leading space.
        texts = [(" " + c if self.prompt else c) for c in captions]
        encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        result = []
        for ids in encoded:
            if max_length is not None:
                ids = ids[: max_length - 1]
            result.append(list(ids) + [eos])
        return result

    def pad_captions(self, captions: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad caption ids to (N, L) with the pad token; returns ``(ids, mask)``."""
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        length = max(1, max((len(c) for c in captions), default=1))
        ids = torch.full((len(captions), length), pad, dtype=torch.long)
        mask = torch.zeros((len(captions), length), dtype=torch.long)
        for i, caption in enumerate(captions):
            ids[i, : len(caption)] = torch.tensor(caption, dtype=torch.long)
            mask[i, : len(caption)] = 1
        return ids, mask

    def decode_captions(self, caption_ids: torch.Tensor) -> list[str]:
        """Generated caption ids (prefix removed) to text, cut at the first eos."""
        eos = self.tokenizer.eos_token_id
        texts = []
        for row in caption_ids.tolist():
            if eos in row:
                row = row[: row.index(eos)]
            texts.append(self.tokenizer.decode(row, skip_special_tokens=True).strip())
        return texts

    def batch_decode(self, sequences, skip_special_tokens: bool = True) -> list[str]:
        """transformers' name for `decode_captions`: rows of generated ids (a tensor or lists) to text, each cut at
        its first eos (special tokens are always skipped)."""
        if not skip_special_tokens:
            raise ValueError("the captioners' processors decode captions without special tokens; use processor.tokenizer to see them.")
        return self.decode_captions(sequences if isinstance(sequences, torch.Tensor) else torch.as_tensor(sequences))

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        """One row of generated ids to text."""
        return self.batch_decode([list(ids)], skip_special_tokens)[0]

    def __call__(
        self, videos=None, captions: Sequence[str] | None = None, max_length: int | None = None, return_tensors: str | None = "pt"
    ) -> dict:
        """``pixel_values`` for ``videos`` and padded ``caption_ids``/``caption_mask`` for ``captions``, as PyTorch
        tensors (``return_tensors="pt"``, the only kind the captioners take)."""
        if return_tensors not in ("pt", None):
            raise ValueError(f"return_tensors ({return_tensors!r}) must be 'pt': the captioners are PyTorch models.")
        out = {}
        if videos is not None:
            out["pixel_values"] = self.preprocess_videos(videos)
        if captions is not None:
            out["caption_ids"], out["caption_mask"] = self.pad_captions(self.caption_ids(captions, max_length))
        return out

    # ------------------------------------------------------------------------------------------- save / load

    def to_dict(self) -> dict:
        return {
            "processor_class": type(self).__name__,
            "image_size": self.image_size,
            "image_mean": list(self.image_mean),
            "image_std": list(self.image_std),
            "prompt": self.prompt,
            "frame_differences": self.frame_differences,
        }

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs) -> None:
        """Save the tokenizer and ``processor_config.json``; ``push_to_hub(repo_id)`` (from transformers'
        `PushToHubMixin`) saves into a temporary folder and uploads it."""
        os.makedirs(save_directory, exist_ok=True)
        self.tokenizer.save_pretrained(save_directory)
        with open(os.path.join(save_directory, PROCESSOR_CONFIG_NAME), "w") as f:
            json.dump(self.to_dict(), f, indent=2)

    @classmethod
    def _settings_from_checkpoint(cls, path: str, hub: dict) -> dict:
        """Settings of a model checkpoint that has no saved video processor: its image processor's size and
        normalisation (subclasses add model-specific ones)."""
        from transformers import AutoImageProcessor

        image_processor = AutoImageProcessor.from_pretrained(path, **hub)
        size = getattr(image_processor, "crop_size", None) or image_processor.size
        if not isinstance(size, int):  # a dict, or transformers' SizeDict (fast image processors)
            get = size.get if isinstance(size, dict) else lambda key: getattr(size, key, None)
            size = get("height") or get("shortest_edge")
        return {"image_size": size, "image_mean": image_processor.image_mean, "image_std": image_processor.image_std}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs):
        """Load a saved processor, or build one from a model checkpoint (its tokenizer and image-processor
        settings). Keyword arguments override the stored settings (e.g. ``prompt``)."""
        from transformers import AutoTokenizer
        from transformers.utils import cached_file

        path = str(pretrained_model_name_or_path)
        hub = {key: kwargs.pop(key) for key in _HUB_KWARGS if key in kwargs}
        for internal in ("_from_auto", "_from_pipeline", "trust_remote_code"):  # what AutoProcessor / pipeline() pass
            kwargs.pop(internal, None)
        tokenizer = kwargs.pop("tokenizer", None) or AutoTokenizer.from_pretrained(path, **hub)
        config_file = cached_file(path, PROCESSOR_CONFIG_NAME, _raise_exceptions_for_missing_entries=False, **hub)
        if config_file is not None:
            with open(config_file) as f:
                settings = json.load(f)
            settings.pop("processor_class", None)
        else:
            settings = cls._settings_from_checkpoint(path, hub)
        settings.update(kwargs)
        return cls(tokenizer=tokenizer, **settings)


__all__ = ["VideoCaptionProcessor", "CLIP_MEAN", "CLIP_STD", "PROCESSOR_CONFIG_NAME"]
