"""Default LoRA settings per architecture (PEFT's built-in target map only knows BLIP-2, and matches its vision
and Q-Former layers too loosely)."""

from __future__ import annotations

# Regexes over module names: the language model's attention query and value projections only.
LORA_TARGET_MODULES = {
    "blip2-opt": r".*language_model.*\.(q_proj|v_proj)",
    "blip2-t5": r".*language_model.*\.(SelfAttention|EncDecAttention)\.(q|v)",
    "git": r".*git\.encoder\.layer\.\d+\.attention\.self\.(query|value)",
    "ofa": r".*(encoder|decoder)\.layers\.\d+\.(self_attn|encoder_attn)\.(q_proj|v_proj)",
    # transformers video VLMs (hf_vidcap.models.vlm): the language model's attention; never the vision tower.
    "vlm": r".*(language_model|text_model)\.(model\.)?layers\.\d+\.self_attn\.(q_proj|v_proj)",
}


def lora_architecture(model) -> str:
    """The key of `LORA_TARGET_MODULES` for ``model`` (a captioner, possibly PEFT-wrapped)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    model_type = getattr(base.config, "model_type", "")
    if model_type in ("video_blip2", "blip-2"):
        text_type = base.config.get_text_config().model_type
        if text_type == "opt":
            return "blip2-opt"
        if text_type in ("t5", "mt5", "umt5"):
            return "blip2-t5"
        raise ValueError(f"no default LoRA targets for a BLIP-2 with a {text_type!r} language model; pass target_modules yourself.")
    if model_type in ("video_git", "git"):
        return "git"
    if model_type == "ofa":
        return "ofa"
    from .vlm import VLM_FAMILIES

    if model_type in VLM_FAMILIES:
        return "vlm"
    raise ValueError(f"no default LoRA targets for model_type {model_type!r}; known: video_blip2, video_git, ofa and the video VLMs {sorted(VLM_FAMILIES)}. Pass target_modules yourself.")


def get_default_lora_config(model, r: int = 8, lora_alpha: int = 16, lora_dropout: float = 0.05, **kwargs):
    """A `peft.LoraConfig` on the language model's attention query/value projections of ``model``'s architecture.

    The defaults are the BLIP-2 video captioning paper's (r 8, alpha 16, dropout 0.05 on q and v); the vision
    tower and the Q-Former / visual projection stay frozen. Extra keyword arguments go to `LoraConfig`.

    Example:
        >>> from hf_vidcap.models import get_default_lora_config
        >>> config = get_default_lora_config(model)  # doctest: +SKIP
        >>> trainer = VideoSCSTTrainer(model, rewards, args, peft_config=config, ...)  # doctest: +SKIP
    """
    from peft import LoraConfig

    return LoraConfig(
        r=r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=LORA_TARGET_MODULES[lora_architecture(model)],
        **kwargs,
    )
