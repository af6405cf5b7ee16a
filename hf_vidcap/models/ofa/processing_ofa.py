"""OFA's tokenizer and processor: BART's byte-level BPE plus OFA's image-code and location tokens; frames
normalised with mean = std = 0.5 at OFA's resolution; the caption prompt goes to the encoder."""

from __future__ import annotations

from collections.abc import Sequence

from ..processing_video_caption import _HUB_KWARGS, PROCESSOR_CONFIG_NAME, VideoCaptionProcessor
from .convert_ofa import (
    is_original_ofa_config,
    original_ofa_config_dict,
    original_ofa_resolution,
    read_checkpoint_config,
)

OFA_NUM_CODES = 8192  # VQGAN image-code tokens <code_0> ... <code_8191>
OFA_NUM_BINS = 1000  # location tokens <bin_0> ... <bin_999>
OFA_CAPTION_PROMPT = " what does the image describe?"
OFA_MEAN = OFA_STD = (0.5, 0.5, 0.5)


def build_ofa_tokenizer(bart_tokenizer, num_codes: int = OFA_NUM_CODES, num_bins: int = OFA_NUM_BINS):
    """OFA's vocabulary: a BART tokenizer (50,265 tokens for facebook/bart-base) followed by ``<code_i>`` then
    ``<bin_j>`` tokens, 59,457 in all, in the order of the original checkpoints' embedding rows. Idempotent."""
    base = len(bart_tokenizer)
    if bart_tokenizer.convert_tokens_to_ids("<code_0>") not in (None, bart_tokenizer.unk_token_id):
        return bart_tokenizer
    bart_tokenizer.add_tokens([f"<code_{i}>" for i in range(num_codes)] + [f"<bin_{j}>" for j in range(num_bins)])
    if len(bart_tokenizer) != base + num_codes + num_bins:
        raise ValueError("some OFA code/bin tokens already existed in the tokenizer; start from a plain BART tokenizer.")
    return bart_tokenizer


def location_token(value: float, num_bins: int = OFA_NUM_BINS) -> str:
    """The ``<bin_k>`` token of a coordinate in [0, 1] (OFA quantises box coordinates into ``num_bins`` bins)."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"coordinate {value} must be in [0, 1] (divide by the image width / height).")
    return f"<bin_{min(int(value * (num_bins - 1) + 0.5), num_bins - 1)}>"


class OFAProcessor(VideoCaptionProcessor):
    r"""
    Turns videos and captions into OFA inputs. The encoder reads ``<s>`` + prompt + ``</s>`` (after the image tokens,
    which the model inserts); the decoder writes `` caption</s>`` from ``<s>`` (BART style).

    Args:
        tokenizer: a BART byte-level BPE tokenizer with OFA's extra tokens (`build_ofa_tokenizer` adds them).
        image_size (`int`, *optional*, defaults to `256`): OFA's resolution (ofa-tiny ... ofa-base use 256 for
            pretraining; the large caption fine-tunes 480). Must match the model's ``config.image_size``.
        image_mean, image_std: OFA normalises with 0.5 / 0.5.
        prompt (`str`, *optional*): OFA's caption instruction by default.
        frame_differences: see [`VideoCaptionProcessor`].
    """

    def __init__(
        self,
        tokenizer,
        image_size: int = 256,
        image_mean: Sequence[float] = OFA_MEAN,
        image_std: Sequence[float] = OFA_STD,
        prompt: str = OFA_CAPTION_PROMPT,
        frame_differences: bool | str = False,
    ):
        super().__init__(tokenizer, image_size, image_mean, image_std, prompt, frame_differences)

    def prefix_ids(self) -> list[int]:
        """``<s>`` prompt ``</s>``: the encoder's text."""
        return super().prefix_ids() + [self.tokenizer.eos_token_id]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """A saved OFAProcessor, or one built from an OFA-Sys release repository: BART's ``vocab.json`` /
        ``merges.txt`` with OFA's <code_i> and <bin_j> tokens appended (as the release's tokenizer does on load), at
        the release's resolution. Keyword arguments override the settings (e.g. ``image_size``, ``prompt``)."""
        from transformers import BartTokenizer
        from transformers.utils import cached_file

        path = str(pretrained_model_name_or_path)
        hub = {key: kwargs[key] for key in _HUB_KWARGS if key in kwargs}
        saved = cached_file(path, PROCESSOR_CONFIG_NAME, _raise_exceptions_for_missing_entries=False, **hub)
        if "tokenizer" not in kwargs and saved is None:
            raw = read_checkpoint_config(path, hub)
            if raw is not None and is_original_ofa_config(raw):
                kwargs["tokenizer"] = build_ofa_tokenizer(BartTokenizer.from_pretrained(path, **hub))
                if "image_size" not in kwargs:
                    original_ofa_config_dict(raw)  # warns when the architecture's resolution is unknown
        return super().from_pretrained(path, **kwargs)

    @classmethod
    def _settings_from_checkpoint(cls, path: str, hub: dict) -> dict:
        # OFA repositories carry no image-processor file (the original code uses torchvision transforms): the
        # resolution is the model's (for a release checkpoint, its pretraining resolution; see OFAConfig.from_dict).
        from .configuration_ofa import OFAConfig

        raw = read_checkpoint_config(path, hub)
        if raw is None:
            return {}
        if is_original_ofa_config(raw):
            return {"image_size": original_ofa_resolution(raw) or 256}  # from_pretrained warned if it is a guess
        return {"image_size": OFAConfig.from_dict(raw).image_size}


__all__ = ["OFAProcessor", "build_ofa_tokenizer", "location_token", "OFA_CAPTION_PROMPT", "OFA_NUM_BINS", "OFA_NUM_CODES"]
