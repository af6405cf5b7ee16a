"""Processor of GIT video captioners: the shared video-caption processor with GIT's text layout ([CLS] prompt
caption [SEP]; the visual tokens are prepended inside the model, so the text carries no placeholders)."""

from __future__ import annotations

from ..processing_video_caption import VideoCaptionProcessor


class VideoGitProcessor(VideoCaptionProcessor):
    r"""
    Turns videos and captions into GIT video inputs (see [`VideoCaptionProcessor`] for the arguments). GIT's
    BERT tokenizer has no bos/eos: ``[CLS]`` becomes bos and ``[SEP]`` eos, the tokens GIT starts and ends
    captions with. ``from_pretrained("microsoft/git-base-vatex")`` reads the checkpoint's image size and CLIP
    normalisation from its image processor.
    """


__all__ = ["VideoGitProcessor"]
