"""Shared builders for the trainer tests."""

import torch

from hf_vidcap import VideoBlip2Processor
from hf_vidcap.models import create_tiny_video_blip2
from hf_vidcap.trainer import VideoSCSTConfig


def make_args(tmp_path, **kwargs):
    defaults = dict(
        output_dir=str(tmp_path), use_cpu=True, per_device_train_batch_size=4, per_device_eval_batch_size=8,
        max_steps=2, learning_rate=1e-3, num_generations=3, max_completion_length=8, save_strategy="no",
        logging_steps=1, disable_tqdm=True, seed=0,
    )
    defaults.update(kwargs)
    return VideoSCSTConfig(**defaults)


def make_model_and_processor(tokenizer, seed=0):
    torch.manual_seed(seed)
    model = create_tiny_video_blip2(
        tokenizer, image_size=32, patch_size=8, hidden_size=32, num_query_tokens=4, text_hidden_size=32, num_frames=8
    )
    return model, VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)


class RecordingReward:
    """Records every call; rewards each completion with its word count (or a fixed value)."""

    __name__ = "recording"

    def __init__(self, value=None):
        self.calls, self.value = [], value

    def __call__(self, completions, **kwargs):
        self.calls.append({"completions": completions, **kwargs})
        return [self.value if self.value is not None else float(len(c.split())) for c in completions]
