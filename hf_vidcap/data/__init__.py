"""Video-caption data: decoding, frame sampling, batching, and the synthetic shapes world."""

from .action_datasets import ACTION_DATASETS, load_action_dataset, natural_class_name, zero_shot_classes
from .caption_datasets import CAPTION_DATASETS, load_caption_dataset
from .collator import VideoCaptionCollator
from .loading import load_video_caption_dataset
from .shapes import (
    ACTIONS,
    BASE_ACTIONS,
    NOVEL_ACTIONS,
    ShapesWorldConfig,
    build_shapes_tokenizer,
    caption_names_attributes,
    generate_shapes_action_dataset,
    generate_shapes_dataset,
    is_shapes_caption_grammatical,
    shapes_action_classes,
    load_shapes_dataset,
    shapes_vocabulary,
    split_base_novel,
)
from .sampling import SAMPLING_MODES, SHORT_VIDEO_POLICIES, ShortVideoError, sample_frame_indices
from .video import DECODERS, VideoDecodingError, available_decoders, decode_video, uniform_frame_indices

__all__ = [
    "ACTIONS",
    "ACTION_DATASETS",
    "CAPTION_DATASETS",
    "load_caption_dataset",
    "load_action_dataset",
    "natural_class_name",
    "zero_shot_classes",
    "BASE_ACTIONS",
    "NOVEL_ACTIONS",
    "split_base_novel",
    "DECODERS",
    "SAMPLING_MODES",
    "SHORT_VIDEO_POLICIES",
    "ShortVideoError",
    "available_decoders",
    "sample_frame_indices",
    "ShapesWorldConfig",
    "VideoCaptionCollator",
    "VideoDecodingError",
    "build_shapes_tokenizer",
    "caption_names_attributes",
    "decode_video",
    "generate_shapes_action_dataset",
    "generate_shapes_dataset",
    "is_shapes_caption_grammatical",
    "shapes_action_classes",
    "load_video_caption_dataset",
    "load_shapes_dataset",
    "shapes_vocabulary",
    "uniform_frame_indices",
]
