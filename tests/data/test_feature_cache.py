"""The on-disk vision-feature cache: one entry per (video, model, settings), invalidated when any of them changes,
and the trainer reading it back in a later run instead of running the frozen vision tower."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trainer"))
from helpers import RecordingReward, make_args, make_model_and_processor  # noqa: E402

from hf_vidcap.data.feature_cache import VisionFeatureCache, model_fingerprint, video_identity  # noqa: E402
from hf_vidcap.data.shapes import write_video  # noqa: E402
from hf_vidcap.trainer import VideoSCSTTrainer  # noqa: E402


def _counting(values):
    calls = []

    def compute(rows):
        calls.append(list(rows))
        return torch.stack([torch.full((2,), float(values[r])) for r in rows])

    return compute, calls


def test_entries_are_reused_and_invalidated_by_model_settings_and_content(tmp_path):
    settings = {"num_frames": 8, "sampling": "uniform", "image_size": 32}
    compute, calls = _counting([1.0, 2.0, 3.0])
    cache = VisionFeatureCache(tmp_path, "model-a", settings)
    first = cache.get_or_compute(["a", "b", "c"], compute)
    again = VisionFeatureCache(tmp_path, "model-a", settings).get_or_compute(["a", "b", "c"], compute)  # a new process
    torch.testing.assert_close(first, again)
    assert calls == [[0, 1, 2]]
    # Partly cached: only the new video is computed, and rows come back in the asked order.
    compute_d, calls_d = _counting([9.0, 4.0])
    mixed = cache.get_or_compute(["d", "a"], compute_d)
    assert calls_d == [[0]] and mixed[:, 0].tolist() == [9.0, 1.0]
    # Another model or other settings: a separate, empty cache.
    for model, other in (("model-b", settings), ("model-a", {**settings, "num_frames": 16}), ("model-a", {**settings, "image_size": 64})):
        compute_x, calls_x = _counting([1.0])
        VisionFeatureCache(tmp_path, model, other).get_or_compute(["a"], compute_x)
        assert calls_x == [[0]]
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 4


def test_random_sampling_cannot_be_cached(tmp_path):
    with pytest.raises(ValueError, match="'random_segment' draws different frames every epoch"):
        VisionFeatureCache(tmp_path, "m", {"sampling": "random_segment"})


def test_fingerprints_follow_weights_and_video_content(tmp_path):
    layer = torch.nn.Linear(2, 2)
    before = model_fingerprint(layer)
    assert model_fingerprint(layer) == before
    with torch.no_grad():
        layer.weight[0, 0] += 1e-3
    assert model_fingerprint(layer) != before
    # BatchNorm (OFA's ResNet stem) holds 0-dim buffers; its running statistics count.
    norm = torch.nn.BatchNorm2d(3)
    before = model_fingerprint(norm)
    norm.running_mean += 1.0
    assert model_fingerprint(norm) != before
    path = tmp_path / "v.mp4"
    write_video(path, np.zeros((4, 16, 16, 3), dtype=np.uint8))
    first = video_identity(str(path))
    write_video(path, np.full((4, 16, 16, 3), 200, dtype=np.uint8))  # re-encoded in place
    assert video_identity(str(path)) != first
    assert video_identity({"path": None, "bytes": b"abc"}) != video_identity({"path": None, "bytes": b"abd"})


def test_trainer_reads_features_from_disk_in_a_later_run(tmp_path, tokenizer, shapes_dataset):
    train = shapes_dataset["train"].select(range(8))
    cache_dir = tmp_path / "feature_cache"
    runs = []
    for run in range(2):
        model, processor = make_model_and_processor(tokenizer)
        model.requires_grad_(False)
        model.language_model.requires_grad_(True)  # the whole visual path is frozen
        calls = []
        model.vision_model.register_forward_hook(lambda *a: calls.append(1))
        args = make_args(tmp_path / f"run{run}", max_steps=2, cache_video_features=True, feature_cache_dir=str(cache_dir))
        trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=train, processing_class=processor)
        trainer.train()
        runs.append((trainer.feature_cache_stats, len(calls), [e["loss"] for e in trainer.state.log_history if "loss" in e]))
    (stats0, calls0, losses0), (stats1, calls1, losses1) = runs
    assert stats0["disk_hits"] == 0 and calls0 == 2  # 2 batches of 4 videos, encoded and written
    assert stats1["disk_hits"] == 8 and calls1 == 0  # the second run never runs the vision tower
    assert losses1 == pytest.approx(losses0, rel=1e-5, abs=1e-6)
    # A different model (other weights) does not read the first model's features.
    model, processor = make_model_and_processor(tokenizer, seed=1)
    model.requires_grad_(False)
    model.language_model.requires_grad_(True)
    args = make_args(tmp_path / "run2", max_steps=1, cache_video_features=True, feature_cache_dir=str(cache_dir))
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=train, processing_class=processor)
    trainer.train()
    assert trainer.feature_cache_stats["disk_hits"] == 0


def test_feature_cache_dir_needs_the_cache(tmp_path):
    with pytest.raises(ValueError, match="feature_cache_dir needs cache_video_features=True"):
        make_args(tmp_path, feature_cache_dir=str(tmp_path))
