"""The caption loaders on fixture copies that the tests write in each source's layout (the official releases and
the Hub repositories), with real video files."""

import csv
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hf_vidcap.data import VideoDecodingError, decode_video
from hf_vidcap.data.caption_datasets import load_caption_dataset
from hf_vidcap.data.shapes import write_video

from layouts import write_clip, write_msrvtt_hub_layout, write_msvd_hub_layout


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
    with pytest.raises(ValueError, match="unknown caption dataset 'youcook2'"):
        load_caption_dataset("youcook2", data_dir=msrvtt_dir)
    with pytest.raises(ValueError, match="split 'val' is unknown for msrvtt"):
        load_caption_dataset("msrvtt", "val", data_dir=msrvtt_dir)
    with pytest.raises(FileNotFoundError, match="MSRVTT_data.json is missing"):
        load_caption_dataset("msrvtt", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="6 videos are missing, e.g.*skip_missing"):
        load_caption_dataset("msrvtt", "train", data_dir=msrvtt_dir, video_dir=tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(msrvtt_dir, broken)
    data = json.loads((broken / "MSRVTT_data.json").read_text())
    data["sentences"] = [s for s in data["sentences"] if s["video_id"] != "video3"]
    (broken / "MSRVTT_data.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="1 videos of split 'train' have no captions.*video3"):
        load_caption_dataset("msrvtt", "train", data_dir=broken)
    # Offline (the suite's HF_HUB_OFFLINE=1) the Hub repository cannot be fetched: the error names it and the fix.
    with pytest.raises(OSError, match=r"Hub dataset 'friedrichor/MSR-VTT'.*pass data_dir= .*video_dir="):
        load_caption_dataset("msrvtt", "test_1k")


_clip = write_clip


@pytest.fixture(scope="module")
def msrvtt_hub(tmp_path_factory):
    return write_msrvtt_hub_layout(tmp_path_factory.mktemp("msrvtt_hub"))


def test_msrvtt_from_hub_layout(msrvtt_hub, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(msrvtt_hub, copy)  # extraction writes next to the archive
    ds = load_caption_dataset("msrvtt", "train_9k", source=str(copy), download_videos=True)
    assert ds["video_id"] == ["video0", "video1", "video2", "video3"]
    assert ds[1]["captions"] == ["a clip 1 shows a dog", "clip 1 again"]
    assert ds[1]["video"]["path"].endswith("MSRVTT/videos/all/video1.mp4")
    frames = decode_video(ds[1]["video"], 3)
    expected = decode_video(str(copy / "MSRVTT_Videos_extracted/MSRVTT/videos/all/video1.mp4"), 3)
    np.testing.assert_array_equal(frames, expected)
    assert len(load_caption_dataset("msrvtt", "train_7k", source=str(copy), download_videos=True)) == 3
    test = load_caption_dataset("msrvtt", "test_1k", source=str(copy), download_videos=True)
    assert test["captions"] == [["a man sings"]]
    with pytest.raises(FileNotFoundError, match="videos are missing.*download_videos=True"):
        load_caption_dataset("msrvtt", "train_9k", source=str(msrvtt_hub))  # the zip is not extracted there
    with pytest.raises(ValueError, match="carries the .*train_9k.*for 'validate' pass data_dir"):
        load_caption_dataset("msrvtt", "validate", source=str(copy))


@pytest.fixture(scope="module")
def msvd_hub(tmp_path_factory):
    return write_msvd_hub_layout(tmp_path_factory.mktemp("msvd_hub"))


def test_msvd_hub_layout_and_official_files_agree(msvd_hub, tmp_path):
    sizes = {s: len(load_caption_dataset("msvd", s, source=str(msvd_hub))) for s in ("train", "validation", "test")}
    assert sizes == {"train": 3, "validation": 1, "test": 2}
    hub = load_caption_dataset("msvd", "test", source=str(msvd_hub))
    assert hub[0]["video_id"] == "tst_5_9" and hub[0]["captions"] == ["tst_5_9 caption one", "tst_5_9 caption two"]
    assert hub[0]["video"]["path"] == str(msvd_hub / "raw_videos" / "tst_5_9.avi")
    assert decode_video(hub[0]["video"], 4).shape == (4, 32, 32, 3)
    # The official text release (AllVideoDescriptions.txt + split lists) gives the same split.
    official = tmp_path / "official"
    shutil.copytree(msvd_hub / "raw_data", official)
    shutil.copytree(msvd_hub / "raw_videos", official / "YouTubeClips")
    same = load_caption_dataset("msvd", "test", data_dir=official)
    assert same["video_id"] == hub["video_id"] and same["captions"] == hub["captions"]
    assert Path(same[1]["video"]["path"]).name == "tst_10_12.avi"


def test_vatex_official_and_hub_layouts(tmp_path):
    import datasets

    videos = tmp_path / "videos"
    videos.mkdir()
    rows = {
        "train": [{"videoID": "Ptf_2VRj-V0_000122_000132", "enCap": ["a man jumps", "someone jumps"], "chCap": ["..."]}],
        "validation": [{"videoID": "aaa_000001_000011", "enCap": ["a cat sleeps"], "chCap": []}],
        "test": [{"videoID": "tst_000003_000013", "enCap": ["two kids dance", "kids dance"]}],
    }
    from hf_vidcap.data.caption_datasets import VATEX_FILES

    official = tmp_path / "official"
    official.mkdir()
    for split, items in rows.items():
        (official / VATEX_FILES[split]).write_text(json.dumps(items))
        for item in items:
            _clip(videos / f"{item['videoID']}.mp4")
    train = load_caption_dataset("vatex", "train", data_dir=official, video_dir=videos)
    assert train[0]["captions"] == ["a man jumps", "someone jumps"]
    # lmms-lab/VATEX: vatex_test/test-00000-of-00001.parquet with videoID / enCap.
    hub = tmp_path / "hub"
    (hub / "vatex_test").mkdir(parents=True)
    datasets.Dataset.from_list(rows["test"]).to_parquet(str(hub / "vatex_test" / "test-00000-of-00001.parquet"))
    test = load_caption_dataset("vatex", "test", source=str(hub), video_dir=videos)
    assert test["video_id"] == ["tst_000003_000013"] and test[0]["captions"] == ["two kids dance", "kids dance"]
    with pytest.raises(ValueError, match="public test split only"):
        load_caption_dataset("vatex", "train", source=str(hub), video_dir=videos)


def test_tgif_official_layout_with_gifs(tmp_path):
    import av

    data = tmp_path / "tgif" / "data"
    (data / "splits").mkdir(parents=True)
    gifs = tmp_path / "tgif" / "gifs"
    gifs.mkdir()
    urls = [f"https://38.media.tumblr.com/tumblr_n{i}o1_250.gif" for i in range(3)]
    (data / "tgif-v1.0.tsv").write_text("".join(f"{u}\ta cat {i} plays\n" for i, u in enumerate(urls)) + f"{urls[0]}\tanother caption\n")
    (data / "splits" / "train.txt").write_text("\n".join(urls[:2]) + "\n")
    (data / "splits" / "test.txt").write_text(urls[2] + "\n")
    for i in range(3):  # real GIFs
        with av.open(str(gifs / f"tumblr_n{i}o1_250.gif"), "w") as container:
            stream = container.add_stream("gif", rate=5)
            stream.width = stream.height = 32
            stream.pix_fmt = "rgb8"
            for k in range(5):
                frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * k, dtype=np.uint8), format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    train = load_caption_dataset("tgif", "train", data_dir=tmp_path / "tgif")
    assert train["video_id"] == ["tumblr_n0o1_250", "tumblr_n1o1_250"]
    assert train[0]["captions"] == ["a cat 0 plays", "another caption"]
    frames = decode_video(train[0]["video"], 5)
    assert frames.shape == (5, 32, 32, 3) and frames[0].mean() < frames[-1].mean()
    with pytest.raises(ValueError, match="tgif has no Hub repository"):
        load_caption_dataset("tgif", "train")


def test_coco_karpathy_images_are_one_frame_videos(tmp_path):
    from PIL import Image

    (tmp_path / "val2014").mkdir()
    images = []
    for i, split in enumerate(["train", "restval", "val", "test", "test"]):
        name = f"COCO_val2014_{i:012d}.jpg"
        Image.fromarray(np.full((24, 40, 3), 50 * i, dtype=np.uint8)).save(tmp_path / "val2014" / name)
        images.append({"filepath": "val2014", "filename": name, "cocoid": 100 + i, "split": split, "sentences": [{"raw": f"photo {i} of a bus", "tokens": []}]})
    (tmp_path / "dataset_coco.json").write_text(json.dumps({"images": images, "dataset": "coco"}))
    sizes = {s: len(load_caption_dataset("coco", s, data_dir=tmp_path)) for s in ("train", "validation", "test")}
    assert sizes == {"train": 2, "validation": 1, "test": 2}
    test = load_caption_dataset("coco", "test", data_dir=tmp_path)
    assert test["video_id"] == ["103", "104"] and test[0]["captions"] == ["photo 3 of a bus"]
    frames, mask = decode_video(test[0]["video"], 4, short_video="repeat", return_mask=True)
    assert frames.shape == (4, 24, 40, 3) and mask.all() and abs(float(frames.mean()) - 150) < 2
    assert decode_video(test[0]["video"], 1, size=16).shape == (1, 16, 16, 3)
    with pytest.raises(VideoDecodingError, match="1 frames"):
        decode_video(test[0]["video"], 4)


def test_data_files_rows_per_caption_and_bad_annotations(tmp_path):
    videos = tmp_path / "videos" / "nested"
    videos.mkdir(parents=True)
    for name in ("a", "b"):
        _clip(videos / f"{name}.mp4")
    rows = tmp_path / "captions.csv"
    rows.write_text("video_id,sentence\na,first caption\nb,second caption\na,third caption\n")
    ds = load_caption_dataset("msrvtt", "train_9k", data_files=str(rows), video_dir=tmp_path / "videos")
    assert ds["video_id"] == ["a", "b"] and ds[0]["captions"] == ["first caption", "third caption"]
    assert ds[0]["video"]["path"] == str(videos / "a.mp4")  # found below video_dir
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"clip": "a", "caption": "x"}) + "\n")
    with pytest.raises(ValueError, match="no video_id column; the rows have \\['caption', 'clip'\\]"):
        load_caption_dataset("msrvtt", "train_9k", data_files=str(bad), video_dir=videos)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps([{"video_id": "a", "caption": ["  "]}, {"video_id": "b", "caption": "ok"}]))
    with pytest.raises(ValueError, match="1 videos have no non-empty caption, e.g. \\['a'\\]"):
        load_caption_dataset("msrvtt", "train_9k", data_files=str(empty), video_dir=videos)
    with pytest.raises(ValueError, match="pass video_dir"):
        load_caption_dataset("msrvtt", "train_9k", data_files=str(rows))
    with pytest.raises(ValueError, match="at most one of source"):
        load_caption_dataset("msvd", "train", source="x", data_dir=tmp_path)
    # A missing video: an error naming it, or a counted skip.
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps([{"video_id": "a", "caption": "one"}, {"video_id": "gone", "caption": "two"}]))
    with pytest.raises(FileNotFoundError, match="1 videos are missing, e.g. \\['.*gone.mp4'\\]"):
        load_caption_dataset("msrvtt", "train_9k", data_files=str(extra), video_dir=videos)
    with pytest.warns(UserWarning, match="skipped 1 of 2 videos that are missing"):
        kept = load_caption_dataset("msrvtt", "train_9k", data_files=str(extra), video_dir=videos, skip_missing=True)
    assert kept["video_id"] == ["a"]


def test_recipe_loader_reads_named_caption_datasets(msrvtt_hub, tmp_path):
    from hf_vidcap.data import load_video_caption_dataset

    copy = tmp_path / "copy"
    shutil.copytree(msrvtt_hub, copy)
    splits = load_video_caption_dataset("msrvtt", str(copy), splits=["train_9k", "test_1k", "test_1k"], download_videos=True)
    assert {k: len(v) for k, v in splits.items()} == {"train_9k": 4, "test_1k": 1}
    with pytest.raises(ValueError, match="pass splits"):
        load_video_caption_dataset("msvd")
