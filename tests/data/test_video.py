import numpy as np
import pytest

from hf_vidcap import VideoBlip2Processor
from hf_vidcap.data import VideoCaptionCollator, VideoDecodingError, decode_video, uniform_frame_indices
from hf_vidcap.data.collator import is_empty_batch
from hf_vidcap.data.shapes import write_video


def test_uniform_frame_indices_are_segment_centres():
    # 16 frames in 4 segments of 4: centres at 2, 6, 10, 14.
    np.testing.assert_array_equal(uniform_frame_indices(16, 4), [2, 6, 10, 14])
    # 10 frames in 4 segments of 2.5: centres at 1.25, 3.75, 6.25, 8.75 -> floor.
    np.testing.assert_array_equal(uniform_frame_indices(10, 4), [1, 3, 6, 8])
    np.testing.assert_array_equal(uniform_frame_indices(8, 8), np.arange(8))


def test_corrupt_video_error_names_file_and_sample(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    with pytest.raises(VideoDecodingError, match=r"broken\.mp4.*sample 'clip_7'.*corrupt"):
        decode_video(str(bad), 8, sample_name="clip_7")


def test_missing_and_short_videos(tmp_path):
    with pytest.raises(VideoDecodingError, match="does not exist"):
        decode_video(str(tmp_path / "nope.mp4"), 8)
    short = tmp_path / "short.mp4"
    write_video(short, np.zeros((3, 32, 32, 3), dtype=np.uint8))
    with pytest.raises(VideoDecodingError, match=r"short\.mp4.*has 3 frames but 8 were requested"):
        decode_video(str(short), 8)
    # Decoding from bytes gives the same frames as from the path.
    np.testing.assert_array_equal(decode_video({"path": None, "bytes": short.read_bytes()}, 3), decode_video(str(short), 3))


@pytest.fixture
def collator(tokenizer):
    return VideoCaptionCollator(VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32), num_frames=8)


def test_collator_batches_frames_and_keeps_columns(shapes_dataset, collator):
    rows = [shapes_dataset["train"][i] for i in range(3)]
    batch = collator(rows)
    assert batch["pixel_values"].shape == (3, 8, 3, 32, 32)
    assert batch["columns"]["video_id"] == [r["video_id"] for r in rows]
    assert "video" not in batch["columns"]


def test_collator_rejects_empty_references_naming_the_sample(shapes_dataset, collator):
    row = dict(shapes_dataset["train"][0], captions=[])
    with pytest.raises(ValueError, match=f"sample '{row['video_id']}' has an empty or invalid reference list"):
        collator([row])
    with pytest.raises(ValueError, match="empty or invalid"):
        collator([dict(shapes_dataset["train"][0], captions=["a red circle", "  "])])


def test_collator_corrupt_video_raises_or_is_skipped_and_counted(tmp_path, shapes_dataset, tokenizer):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage")
    rows = [shapes_dataset["train"][0], dict(shapes_dataset["train"][1], video={"path": str(bad), "bytes": None}, video_id="bad_one")]
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)
    with pytest.raises(VideoDecodingError, match="sample 'bad_one'"):
        VideoCaptionCollator(processor, num_frames=8)(rows)
    skipping = VideoCaptionCollator(processor, num_frames=8, skip_corrupt=True)
    batch = skipping(rows)
    assert batch["pixel_values"].shape[0] == 1 and batch["columns"]["video_id"] == [rows[0]["video_id"]]
    assert skipping.num_skipped == 1
    # A batch whose every video is unreadable comes back empty and counted, for the trainer to skip.
    empty = skipping([rows[1]])
    assert is_empty_batch(empty) and empty["columns"] == {} and skipping.num_skipped_batches == 1


def test_collator_names_missing_columns(shapes_dataset, tokenizer):
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)
    with pytest.raises(ValueError, match=r"no column\(s\) \['refs'\]"):
        VideoCaptionCollator(processor, num_frames=8, references_column="refs")([shapes_dataset["train"][0]])
