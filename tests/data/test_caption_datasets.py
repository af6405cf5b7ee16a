"""MSR-VTT's loader on a fixture copy in the official layout (MSRVTT_data.json, the CLIP4Clip split CSVs, real
videos)."""

import csv
import json
import shutil

import numpy as np
import pytest

from hf_vidcap.data import decode_video
from hf_vidcap.data.caption_datasets import load_caption_dataset
from hf_vidcap.data.shapes import write_video


@pytest.fixture(scope="module")
def msrvtt_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("msrvtt")
    (root / "videos" / "all").mkdir(parents=True)
    clip = root / "clip.mp4"
    write_video(clip, np.random.default_rng(0).integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    splits = ["train"] * 6 + ["validate"] * 2 + ["test"] * 4
    videos = [{"video_id": f"video{i}", "split": s, "category": i % 3, "url": "", "start time": 0.0, "end time": 1.0, "id": i} for i, s in enumerate(splits)]
    sentences = [{"caption": f"caption {k} of video {i}", "video_id": f"video{i}", "sen_id": 20 * i + k} for i in range(12) for k in range(3)]
    (root / "MSRVTT_data.json").write_text(json.dumps({"info": {}, "videos": videos, "sentences": sentences}))
    for name, ids in (("MSRVTT_train.9k.csv", range(0, 10)), ("MSRVTT_train.7k.csv", range(0, 7))):
        with open(root / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["video_id"])
            writer.writerows([[f"video{i}"] for i in ids])
    with open(root / "MSRVTT_JSFUSION_test.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "key", "vid_key", "video_id", "sentence"])
        writer.writerows([[j, f"ret{j}", f"msr{i}", f"video{i}", f"caption 0 of video {i}"] for j, i in enumerate(range(10, 12))])
    for i in range(12):
        shutil.copy(clip, root / "videos" / "all" / f"video{i}.mp4")
    return root


def test_msrvtt_splits(msrvtt_dir):
    sizes = {s: len(load_caption_dataset("msrvtt", s, data_dir=msrvtt_dir)) for s in ("train", "validate", "test", "train_9k", "train_7k", "test_1k")}
    assert sizes == {"train": 6, "validate": 2, "test": 4, "train_9k": 10, "train_7k": 7, "test_1k": 2}
    test_1k = load_caption_dataset("msrvtt", "test_1k", data_dir=msrvtt_dir)
    row = test_1k[0]
    assert row["video_id"] == "video10" and row["captions"] == [f"caption {k} of video 10" for k in range(3)]  # all references
    assert row["category"] == 1 and decode_video(row["video"], 4).shape == (4, 32, 32, 3)


def test_msrvtt_errors_name_the_problem(msrvtt_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown caption dataset 'vatex'"):
        load_caption_dataset("vatex", data_dir=msrvtt_dir)
    with pytest.raises(ValueError, match="split 'val' is unknown for msrvtt"):
        load_caption_dataset("msrvtt", "val", data_dir=msrvtt_dir)
    with pytest.raises(FileNotFoundError, match="MSRVTT_data.json is missing"):
        load_caption_dataset("msrvtt", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="6 videos are missing, e.g."):
        load_caption_dataset("msrvtt", "train", data_dir=msrvtt_dir, video_dir=tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(msrvtt_dir, broken)
    data = json.loads((broken / "MSRVTT_data.json").read_text())
    data["sentences"] = [s for s in data["sentences"] if s["video_id"] != "video3"]
    (broken / "MSRVTT_data.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="1 videos of split 'train' have no captions.*video3"):
        load_caption_dataset("msrvtt", "train", data_dir=broken)
