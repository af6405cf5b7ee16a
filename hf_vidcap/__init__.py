"""hf_vidcap: reinforcement-learning fine-tuning of video captioning models on the Hugging Face stack.

TRL-style top level: ``from hf_vidcap import VideoSCSTConfig, VideoSCSTTrainer, VideoBlip2ForConditionalGeneration``.
Every name is imported on first use, so that ``import hf_vidcap.metrics`` (the text metrics) loads neither torch nor
transformers. The Auto classes and the pipeline tasks ("video-captioning", "zero-shot-video-classification") are
registered with transformers as soon as it is imported: now if it already is, else right after its own import.
"""

__version__ = "0.1.0.dev0"

import importlib
import importlib.abc
import importlib.util
import sys

_LAZY = {
    **{
        name: "hf_vidcap.models"
        for name in (
            "AutoModelForVideoCaptioning", "AutoVideoCaptionProcessor", "ClasterConfig",
            "ClasterForZeroShotVideoClassification", "OFAConfig", "OFAForConditionalGeneration",
            "OFAProcessor", "VideoBlip2Config", "VideoBlip2ForConditionalGeneration", "VideoBlip2Processor",
            "VideoCaptionProcessor", "VideoGitConfig", "VideoGitForCausalLM", "VideoGitProcessor",
            "get_default_lora_config",
        )
    },
    "evaluate_captioner": "hf_vidcap.evaluation",
    "VideoCaptioningPipeline": "hf_vidcap.pipelines",
    "ZeroShotVideoClassificationPipeline": "hf_vidcap.pipelines",
    "ClasterTrainer": "hf_vidcap.trainer",
    "ClasterTrainingConfig": "hf_vidcap.trainer",
    "VideoSCSTConfig": "hf_vidcap.trainer",
    "VideoSCSTTrainer": "hf_vidcap.trainer",
    "register_baseline": "hf_vidcap.trainer",
    "register_rollout": "hf_vidcap.trainer",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hf_vidcap' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def register_with_transformers() -> None:
    """Register the models with transformers' Auto classes and the two pipeline tasks (idempotent)."""
    from .pipelines import register_pipelines  # imports hf_vidcap.models, which registers the Auto classes

    register_pipelines()


_pending_registration = False


def _initializing(name: str) -> bool:
    return bool(getattr(getattr(sys.modules.get(name), "__spec__", None), "_initializing", False))


def _register_when_safe(finished: str) -> None:
    """Register now, unless an hf_vidcap module other than ``finished`` is still half-imported (registering would
    import it again): then when the last of them finishes."""
    global _pending_registration
    busy = [n for n in list(sys.modules) if (n == "hf_vidcap" or n.startswith("hf_vidcap.")) and n != finished and _initializing(n)]
    _pending_registration = bool(busy)
    if not busy:
        register_with_transformers()


class _ImportHooks(importlib.abc.MetaPathFinder):
    """Post-import hooks: after ``import transformers`` completes, register with it (so that ``import hf_vidcap``
    stays light and ``pipeline("video-captioning")`` works whichever is imported first); when transformers was
    first imported from inside an hf_vidcap module, register once that module (and any importing it) is done."""

    def find_spec(self, fullname, path=None, target=None):
        if not (fullname == "transformers" or fullname.startswith("hf_vidcap.")):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module  # the real loader keeps every other duty (resources, is_package, ...)

        def exec_module(module):
            load(module)
            if fullname == "transformers" or (_pending_registration and "transformers" in sys.modules):
                _register_when_safe(fullname)

        spec.loader.exec_module = exec_module
        return spec


if not any(isinstance(finder, _ImportHooks) for finder in sys.meta_path):
    sys.meta_path.insert(0, _ImportHooks())
if "transformers" in sys.modules:
    register_with_transformers()


__all__ = [
    "AutoModelForVideoCaptioning",
    "AutoVideoCaptionProcessor",
    "ClasterConfig",
    "ClasterForZeroShotVideoClassification",
    "ClasterTrainer",
    "ClasterTrainingConfig",
    "OFAConfig",
    "OFAForConditionalGeneration",
    "OFAProcessor",
    "VideoBlip2Config",
    "VideoBlip2ForConditionalGeneration",
    "VideoBlip2Processor",
    "VideoCaptionProcessor",
    "VideoGitConfig",
    "VideoGitForCausalLM",
    "VideoGitProcessor",
    "VideoCaptioningPipeline",
    "VideoSCSTConfig",
    "VideoSCSTTrainer",
    "ZeroShotVideoClassificationPipeline",
    "__version__",
    "evaluate_captioner",
    "get_default_lora_config",
    "register_baseline",
    "register_rollout",
    "register_with_transformers",
]
