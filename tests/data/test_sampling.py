"""Frame sampling indices (exact, per mode and short-video policy), decoders agreeing with each other, bad videos,
and the collator inside DataLoader workers."""

import numpy as np
import pytest
import torch

from hf_vidcap import VideoBlip2Processor
from hf_vidcap.data import (
    ShortVideoError,
    VideoCaptionCollator,
    VideoDecodingError,
    available_decoders,
    decode_video,
    sample_frame_indices,
)
from hf_vidcap.data.shapes import write_video


def test_uniform_indices_are_exact():
    assert sample_frame_indices(16, 4)[0].tolist() == [2, 6, 10, 14]
    assert sample_frame_indices(10, 3)[0].tolist() == [1, 5, 8]  # centres 1.67, 5, 8.33
    assert sample_frame_indices(8, 8)[0].tolist() == list(range(8))
    assert sample_frame_indices(100, 1)[0].tolist() == [50]


def _draws(n, t, mode, seeds=300):
    return np.stack([sample_frame_indices(n, t, mode, rng=np.random.default_rng(s))[0] for s in range(seeds)])


def test_random_segment_draws_every_frame_of_each_segment_and_nothing_else():
    # 10 frames, 4 segments: [0, 2), [2, 5), [5, 7), [7, 10).
    draws = _draws(10, 4, "random_segment")
    assert [sorted(set(draws[:, k])) for k in range(4)] == [[0, 1], [2, 3, 4], [5, 6], [7, 8, 9]]
    # Reproducible from the generator.
    a = sample_frame_indices(10, 4, "random_segment", rng=np.random.default_rng(5))[0]
    b = sample_frame_indices(10, 4, "random_segment", rng=np.random.default_rng(5))[0]
    np.testing.assert_array_equal(a, b)


def test_headtail_takes_half_the_frames_from_each_half():
    draws = _draws(20, 4, "headtail")
    assert set(draws[:, :2].ravel()) == set(range(10)) and set(draws[:, 2:].ravel()) == set(range(10, 20))
    assert (np.diff(draws, axis=1) > 0).all()  # distinct and in time order
    odd = _draws(20, 5, "headtail")  # the head takes the extra frame
    assert (odd[:, :3] < 10).all() and (odd[:, 3:] >= 10).all()
    # Too short for distinct frames in each half (5 frames, 3 + 2): one random frame per segment instead.
    short = _draws(5, 5, "headtail", seeds=20)
    assert (short == np.arange(5)).all()


def test_short_video_policies():
    assert sample_frame_indices(3, 6, short_video="repeat")[0].tolist() == [0, 0, 1, 1, 2, 2]
    assert sample_frame_indices(5, 8, short_video="repeat")[0].tolist() == [0, 0, 1, 2, 2, 3, 4, 4]
    assert sample_frame_indices(5, 8, "random_segment", "repeat")[0].tolist() == [0, 0, 1, 2, 2, 3, 4, 4]
    indices, mask = sample_frame_indices(3, 5, short_video="pad")
    assert indices.tolist() == [0, 1, 2, 2, 2] and mask.tolist() == [True, True, True, False, False]
    with pytest.raises(ShortVideoError, match="has 3 frames but 5 were requested.*short_video='repeat' or 'pad'"):
        sample_frame_indices(3, 5)
    with pytest.raises(ShortVideoError, match="no frames"):
        sample_frame_indices(0, 5, short_video="repeat")


def test_unknown_names_are_listed():
    with pytest.raises(ValueError, match="mode 'random' is unknown; use one of \\('uniform', 'random_segment', 'headtail'\\)"):
        sample_frame_indices(10, 4, "random")
    with pytest.raises(ValueError, match="short_video 'loop' is unknown"):
        sample_frame_indices(10, 4, short_video="loop")
    with pytest.raises(ValueError, match="decoder 'opencv' is unknown"):
        decode_video("x.mp4", 4, decoder="opencv")


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (24, 48, 64, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    write_video(path, frames)
    return path


@pytest.mark.parametrize("decoder", available_decoders())
def test_decoders_agree_with_pyav(clip_path, decoder):
    assert "pyav" in available_decoders()
    for sampling in ("uniform", "random_segment", "headtail"):
        expected = decode_video(str(clip_path), 8, sampling=sampling, rng=np.random.default_rng(1))
        frames = decode_video(str(clip_path), 8, sampling=sampling, rng=np.random.default_rng(1), decoder=decoder)
        assert frames.shape == (8, 48, 64, 3) and frames.dtype == np.uint8
        np.testing.assert_array_equal(frames, expected)
    from_bytes = decode_video({"path": None, "bytes": clip_path.read_bytes()}, 8, decoder=decoder)
    np.testing.assert_array_equal(from_bytes, decode_video(str(clip_path), 8))
    resized, mask = decode_video(str(clip_path), 30, size=(24, 32), decoder=decoder, short_video="pad", return_mask=True)
    assert resized.shape == (30, 24, 32, 3) and mask.sum() == 24


@pytest.mark.parametrize("decoder", available_decoders())
def test_bad_videos_are_named_for_every_decoder(tmp_path, decoder):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    with pytest.raises(VideoDecodingError, match=r"corrupt\.mp4.*sample 'v1'.*corrupt or not a video"):
        decode_video(str(corrupt), 4, sample_name="v1", decoder=decoder)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoDecodingError, match=r"empty\.mp4.*zero-length"):
        decode_video(str(empty), 4, decoder=decoder)
    short = tmp_path / "short.mp4"
    write_video(short, np.zeros((3, 16, 16, 3), dtype=np.uint8))
    with pytest.raises(VideoDecodingError, match=r"short\.mp4.*sample 'v2'.*has 3 frames but 4"):
        decode_video(str(short), 4, sample_name="v2", decoder=decoder)


def _loader_batches(dataset, collator, workers, seed=0):
    torch.manual_seed(seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=workers, collate_fn=collator)
    return [(batch["pixel_values"], batch["columns"]["video_id"]) for batch in loader]


def test_collator_in_dataloader_workers(shapes_dataset, tokenizer):
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)
    split = shapes_dataset["validation"]
    uniform = VideoCaptionCollator(processor, num_frames=4)
    single, parallel = _loader_batches(split, uniform, 0), _loader_batches(split, uniform, 2)
    for (a, ids_a), (b, ids_b) in zip(single, parallel):
        assert ids_a == ids_b
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # Random sampling: repeatable under one torch seed, different across epochs (new worker seeds).
    random = VideoCaptionCollator(processor, num_frames=4, sampling="random_segment")
    first, again = _loader_batches(split, random, 2, seed=1), _loader_batches(split, random, 2, seed=1)
    other = _loader_batches(split, random, 2, seed=2)
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(first, again))
    assert not all(torch.equal(a, b) for (a, _), (b, _) in zip(first, other))


def test_collator_pads_short_videos_with_a_mask(tmp_path, tokenizer):
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)
    short = tmp_path / "short.mp4"
    write_video(short, np.full((3, 32, 32, 3), 100, dtype=np.uint8))
    row = {"video": {"path": str(short), "bytes": None}, "captions": ["a clip"], "video_id": "s"}
    batch = VideoCaptionCollator(processor, num_frames=5, short_video="pad")([row])
    assert batch["frame_mask"].tolist() == [[True, True, True, False, False]]
    assert batch["pixel_values"].shape[1] == 5
    with pytest.raises(VideoDecodingError, match="sample 's'"):
        VideoCaptionCollator(processor, num_frames=5)([row])


def test_trainer_samples_training_frames_randomly_and_evaluates_uniformly(tmp_path, tokenizer, shapes_dataset):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trainer"))
    from helpers import RecordingReward, make_args, make_model_and_processor

    from hf_vidcap.trainer import VideoSCSTTrainer

    model, processor = make_model_and_processor(tokenizer)
    args = make_args(tmp_path, max_steps=1, frame_sampling="random_segment", short_video="repeat", video_decoder="pyav")
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=shapes_dataset["train"], eval_dataset=shapes_dataset["validation"], processing_class=processor)
    assert trainer.data_collator.sampling == "random_segment" and trainer.eval_data_collator.sampling == "uniform"
    assert trainer.data_collator.short_video == "repeat"
    trainer.train()
    first, second = trainer.evaluate()["eval_cider_d"], trainer.evaluate()["eval_cider_d"]
    assert first == second  # uniform evaluation frames: the same scores every time
    with pytest.raises(ValueError, match="frame_sampling='random_segment' draws new frames every epoch"):
        make_args(tmp_path, frame_sampling="random_segment", cache_video_features=True)
    with pytest.raises(ValueError, match="frame_sampling 'random' is unknown"):
        make_args(tmp_path, frame_sampling="random")
    with pytest.raises(ValueError, match="video_decoder 'ffmpeg' is unknown"):
        make_args(tmp_path, video_decoder="ffmpeg")
