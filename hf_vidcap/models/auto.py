"""Auto classes of hf_vidcap's video captioners.

``import hf_vidcap`` registers our model types with transformers' Auto classes (``AutoConfig``,
``AutoModelForImageTextToText``, ...), so a saved hf_vidcap checkpoint loads through them. A video captioner is
also built from the *original* image checkpoints our models extend (``Salesforce/blip2-*`` is a ``blip-2``
checkpoint, ``microsoft/git-*`` a ``git`` one), which transformers' Auto classes would load as image models. The
two classes here dispatch on the checkpoint's ``model_type`` to the video class of its family:

    >>> from hf_vidcap import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor
    >>> processor = AutoVideoCaptionProcessor.from_pretrained("Salesforce/blip2-opt-2.7b", prompt="a video of")  # doctest: +SKIP
    >>> model = AutoModelForVideoCaptioning.from_pretrained(
    ...     "Salesforce/blip2-opt-2.7b", num_frames=processor.num_model_frames(8))  # doctest: +SKIP

A user's own captioner joins with ``AutoModelForVideoCaptioning.register(model_type, model_class, processor_class)``.
"""

from __future__ import annotations

import json
import os

from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForImageTextToText,
    AutoModelForSeq2SeqLM,
    AutoProcessor,
)

from .blip2_video import VideoBlip2Config, VideoBlip2ForConditionalGeneration, VideoBlip2Processor
from .claster import ClasterConfig, ClasterForZeroShotVideoClassification
from .git_video import VideoGitConfig, VideoGitForCausalLM, VideoGitProcessor
from .ofa import OFAConfig, OFAForConditionalGeneration, OFAProcessor
from .processing_video_caption import PROCESSOR_CONFIG_NAME
from .vlm import VLM_FAMILIES, VideoVLMProcessor, as_video_captioner

_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder")

# model_type of a checkpoint -> (video captioner class, its processor class). The image checkpoints of each family
# ("blip-2", "git") map to the video class that loads them.
VIDEO_CAPTIONERS: dict[str, tuple[type, type]] = {
    VideoBlip2Config.model_type: (VideoBlip2ForConditionalGeneration, VideoBlip2Processor),
    "blip-2": (VideoBlip2ForConditionalGeneration, VideoBlip2Processor),
    VideoGitConfig.model_type: (VideoGitForCausalLM, VideoGitProcessor),
    "git": (VideoGitForCausalLM, VideoGitProcessor),
    OFAConfig.model_type: (OFAForConditionalGeneration, OFAProcessor),
}


def register_auto_classes() -> None:
    for config_class, processor_class in ((VideoBlip2Config, VideoBlip2Processor), (VideoGitConfig, VideoGitProcessor), (OFAConfig, OFAProcessor)):
        AutoProcessor.register(config_class, processor_class, exist_ok=True)
    AutoConfig.register(VideoBlip2Config.model_type, VideoBlip2Config, exist_ok=True)
    AutoModelForImageTextToText.register(VideoBlip2Config, VideoBlip2ForConditionalGeneration, exist_ok=True)
    AutoConfig.register(VideoGitConfig.model_type, VideoGitConfig, exist_ok=True)
    AutoModelForCausalLM.register(VideoGitConfig, VideoGitForCausalLM, exist_ok=True)
    AutoModelForImageTextToText.register(VideoGitConfig, VideoGitForCausalLM, exist_ok=True)
    AutoConfig.register(OFAConfig.model_type, OFAConfig, exist_ok=True)
    AutoModelForSeq2SeqLM.register(OFAConfig, OFAForConditionalGeneration, exist_ok=True)
    AutoModelForImageTextToText.register(OFAConfig, OFAForConditionalGeneration, exist_ok=True)
    AutoConfig.register(ClasterConfig.model_type, ClasterConfig, exist_ok=True)
    AutoModel.register(ClasterConfig, ClasterForZeroShotVideoClassification, exist_ok=True)


def _checkpoint_config_dict(path: str, hub: dict) -> dict:
    from transformers.utils import cached_file

    try:
        config_file = cached_file(path, "config.json", **hub)
    except OSError as error:
        raise OSError(
            f"no video captioner checkpoint at {path!r} (no config.json): {str(error).rstrip('.')}. Offline, write a tiny random one with "
            "`python -m hf_vidcap.models.tiny_checkpoints video_blip2 <output_dir>`."
        ) from error
    with open(config_file) as f:
        return json.load(f)


def _checkpoint_model_type(path: str, hub: dict) -> str:
    model_type = _checkpoint_config_dict(path, hub).get("model_type")
    if model_type not in VIDEO_CAPTIONERS:
        raise ValueError(
            f"{path!r} is a {model_type!r} checkpoint; the video captioners load {sorted(VIDEO_CAPTIONERS)} and the video VLMs "
            f"{sorted(VLM_FAMILIES)}. Register "
            "your own with AutoModelForVideoCaptioning.register(model_type, model_class, processor_class)."
        )
    return model_type


class AutoModelForVideoCaptioning:
    """Loads the video captioner of a checkpoint's family (see the module docstring). Not instantiable."""

    def __init__(self):
        raise OSError("AutoModelForVideoCaptioning is used through AutoModelForVideoCaptioning.from_pretrained(path).")

    @staticmethod
    def register(model_type: str, model_class: type, processor_class: type, exist_ok: bool = False) -> None:
        """Make checkpoints of ``model_type`` load as ``model_class`` with ``processor_class``."""
        from .captioner import VideoCaptionerMixin

        if not issubclass(model_class, VideoCaptionerMixin):
            raise TypeError(f"{model_class.__name__} must inherit hf_vidcap.models.VideoCaptionerMixin to be registered.")
        if model_type in VIDEO_CAPTIONERS and not exist_ok and VIDEO_CAPTIONERS[model_type] != (model_class, processor_class):
            raise ValueError(f"model_type {model_type!r} is already registered ({VIDEO_CAPTIONERS[model_type][0].__name__}); pass exist_ok=True.")
        VIDEO_CAPTIONERS[model_type] = (model_class, processor_class)

    @staticmethod
    def model_class(pretrained_model_name_or_path: str | os.PathLike, **hub_kwargs) -> type:
        """The video captioner class a checkpoint loads as."""
        return VIDEO_CAPTIONERS[_checkpoint_model_type(str(pretrained_model_name_or_path), hub_kwargs)][0]

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *model_args,
        num_frames: int | None = None,
        config_overrides: dict | None = None,
        **kwargs,
    ):
        """``model_class.from_pretrained(...)`` with the checkpoint's config changed by ``config_overrides`` (each key
        must be a field of the model's config: an unknown one is an error naming it). ``num_frames`` is the number of
        frames per video the model will receive (``processor.num_model_frames(sampled)``): when the model has a
        frame-count field (its ``frames_config_key``, e.g. a temporal embedding's rows), a checkpoint without it (an
        image checkpoint) gets ``num_frames``; one that has it keeps it (the models take any number of frames up to
        it) and one smaller than ``num_frames`` is an error (raise it on purpose with ``config_overrides``). Other
        keyword arguments go to ``from_pretrained``."""
        path = str(pretrained_model_name_or_path)
        hub = {key: kwargs[key] for key in _HUB_KWARGS if key in kwargs}
        if _checkpoint_config_dict(path, hub).get("model_type") in VLM_FAMILIES:
            # A transformers video VLM: its own class, given the captioner contract (the processor's video layout
            # reaches it through configure_captioner when a trainer or an evaluation gets the processor).
            model = AutoModelForImageTextToText.from_pretrained(path, *model_args, **(config_overrides or {}), **kwargs)
            return as_video_captioner(model)
        model_class = VIDEO_CAPTIONERS[_checkpoint_model_type(path, hub)][0]
        if "config" in kwargs and (config_overrides or num_frames is not None):
            raise ValueError("pass either config= or config_overrides= / num_frames=, not both.")
        if "config" not in kwargs:
            overrides = dict(config_overrides or {})
            config, unknown = model_class.config_class.from_pretrained(path, return_unused_kwargs=True, **hub, **overrides)
            if unknown:
                raise ValueError(
                    f"{model_class.config_class.__name__} (the config of {path!r}) has no field {sorted(unknown)}; "
                    "remove it from the model settings or choose a checkpoint whose config has it."
                )
            key = model_class.frames_limit_key(config) if num_frames is not None else None
            if key is not None and key not in overrides:
                stored = _checkpoint_config_dict(path, hub).get(key)
                if stored is None:
                    setattr(config, key, num_frames)
                elif stored < num_frames:
                    raise ValueError(
                        f"{path!r} takes at most {stored} frames per video ({key}={stored}) but this run feeds it "
                        f"{num_frames} (sampled frames, plus their differences if the processor appends them). Sample "
                        f"fewer frames, or pass config_overrides={{{key!r}: {num_frames}}} to grow it (new rows start untrained)."
                    )
            kwargs["config"] = config
        return model_class.from_pretrained(path, *model_args, **kwargs)


class AutoVideoCaptionProcessor:
    """Loads the processor of a video captioner checkpoint: its saved hf_vidcap processor, or one built from an
    original checkpoint's tokenizer and image-processor settings. Keyword arguments override stored settings."""

    def __init__(self):
        raise OSError("AutoVideoCaptionProcessor is used through AutoVideoCaptionProcessor.from_pretrained(path).")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs):
        from transformers.utils import cached_file

        path = str(pretrained_model_name_or_path)
        hub = {key: kwargs[key] for key in _HUB_KWARGS if key in kwargs}
        if _checkpoint_config_dict(path, hub).get("model_type") in VLM_FAMILIES:
            return VideoVLMProcessor.from_pretrained(path, **kwargs)  # needs num_frames= unless saved
        saved = cached_file(path, PROCESSOR_CONFIG_NAME, _raise_exceptions_for_missing_entries=False, **hub)
        if saved is not None:
            with open(saved) as f:
                name = json.load(f).get("processor_class")
            by_name = {processor.__name__: processor for _, processor in VIDEO_CAPTIONERS.values()}
            if name in by_name:
                return by_name[name].from_pretrained(path, **kwargs)
        return VIDEO_CAPTIONERS[_checkpoint_model_type(path, hub)][1].from_pretrained(path, **kwargs)


__all__ = ["AutoModelForVideoCaptioning", "AutoVideoCaptionProcessor", "VIDEO_CAPTIONERS", "register_auto_classes"]
