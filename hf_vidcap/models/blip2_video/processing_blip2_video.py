"""Processor of BLIP-2 video captioners: the shared video-caption processor with BLIP-2's image placeholders."""

from __future__ import annotations

from collections.abc import Sequence

from ..processing_video_caption import CLIP_MEAN, CLIP_STD, VideoCaptionProcessor


class VideoBlip2Processor(VideoCaptionProcessor):
    r"""
    Turns videos and captions into BLIP-2 video inputs: ``num_query_tokens`` image placeholders, bos, the prompt,
    then the caption (see [`VideoCaptionProcessor`] for the shared arguments).

    Args:
        tokenizer ([`PreTrainedTokenizerBase`]):
            The language model's tokenizer. It must know the image placeholder token (``image_token``).
        num_query_tokens (`int`):
            How many image placeholders precede the text (the model's ``num_query_tokens``).
        image_token (`str`, *optional*):
            The placeholder token; defaults to ``tokenizer.image_token`` or ``"<image>"``.
        image_size, image_mean, image_std, prompt, frame_differences: see [`VideoCaptionProcessor`].
    """

    def __init__(
        self,
        tokenizer,
        num_query_tokens: int,
        image_size: int = 224,
        image_mean: Sequence[float] = CLIP_MEAN,
        image_std: Sequence[float] = CLIP_STD,
        prompt: str = "",
        image_token: str | None = None,
        frame_differences: bool | str = False,
    ):
        super().__init__(tokenizer, image_size, image_mean, image_std, prompt, frame_differences)
        self.num_query_tokens = int(num_query_tokens)
        self.image_token = image_token or getattr(tokenizer, "image_token", None) or "<image>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        if self.image_token_id is None or self.image_token_id == tokenizer.unk_token_id:
            raise ValueError(
                f"the tokenizer has no image token {self.image_token!r}; add it with "
                f"tokenizer.add_special_tokens({{'additional_special_tokens': [{self.image_token!r}]}})."
            )

    def prefix_ids(self) -> list[int]:
        """Image placeholders, then bos (when the tokenizer has one), then the prompt."""
        return [self.image_token_id] * self.num_query_tokens + super().prefix_ids()

    def to_dict(self) -> dict:
        return {**super().to_dict(), "num_query_tokens": self.num_query_tokens, "image_token": self.image_token}

    @classmethod
    def _settings_from_checkpoint(cls, path: str, hub: dict) -> dict:
        from transformers import AutoConfig

        return {**super()._settings_from_checkpoint(path, hub), "num_query_tokens": AutoConfig.from_pretrained(path, **hub).num_query_tokens}


__all__ = ["VideoBlip2Processor"]
