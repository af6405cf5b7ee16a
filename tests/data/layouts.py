"""Fixture copies of Hub dataset repositories, written file by file in the repositories' layouts with real videos
(used by the loader tests and by the Hub round-trip test that uploads them to the test Hub server)."""

import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from hf_vidcap.data.shapes import write_video


def write_clip(path, seed=0, frames=6):
    write_video(path, np.random.default_rng(seed).integers(0, 255, (frames, 32, 32, 3), dtype=np.uint8))


def write_msrvtt_hub_layout(root) -> Path:
    """friedrichor/MSR-VTT: README configs, msrvtt_{train_9k,train_7k,test_1k}.json, MSRVTT_Videos.zip."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    train = [{"video_id": f"video{i}", "video": f"video{i}.mp4", "caption": [f"a clip {i} shows a dog", f"clip {i} again"], "url": "", "id": i} for i in range(4)]
    (root / "msrvtt_train_9k.json").write_text(json.dumps(train))
    (root / "msrvtt_train_7k.json").write_text(json.dumps(train[:3]))
    # test_1k has one caption per video, as a string.
    (root / "msrvtt_test_1k.json").write_text(json.dumps([{"video_id": "video7", "video": "video7.mp4", "caption": "a man sings"}]))
    (root / "README.md").write_text("---\nconfigs:\n- config_name: train_9k\n  data_files:\n  - split: train\n    path: msrvtt_train_9k.json\n---\n")
    with tempfile.TemporaryDirectory() as videos, zipfile.ZipFile(root / "MSRVTT_Videos.zip", "w") as archive:
        for i in (0, 1, 2, 3, 7):
            write_clip(Path(videos) / f"video{i}.mp4", seed=i)
            archive.write(Path(videos) / f"video{i}.mp4", f"MSRVTT/videos/all/video{i}.mp4")
    return root


MSVD_SPLIT_IDS = {"train": ["-4wsuPCjDBc_5_15", "-7KMZQEsJW4_205_208", "abc_1_2"], "val": ["val_3_4"], "test": ["tst_5_9", "tst_10_12"]}


def write_msvd_hub_layout(root) -> Path:
    """friedrichor/MSVD: msvd_{train,val,test}.json, raw_data/ (the official text files), raw_videos/*.avi."""
    root = Path(root)
    (root / "raw_videos").mkdir(parents=True, exist_ok=True)
    (root / "raw_data").mkdir(exist_ok=True)
    lines = ["# MSVD descriptions", ""]
    for split, ids in MSVD_SPLIT_IDS.items():
        rows = [{"video_id": v, "video": f"{v}.avi", "caption": [f"{v} caption one", f"{v} caption two"]} for v in ids]
        (root / f"msvd_{split}.json").write_text(json.dumps(rows))
        (root / "raw_data" / f"{split}_list.txt").write_text("".join(f"{v}\n" for v in ids))
        for k, v in enumerate(ids):
            write_clip(root / "raw_videos" / f"{v}.avi", seed=k)
            lines += [f"{v} {v} caption one", f"{v} {v} caption two"]
    (root / "raw_data" / "AllVideoDescriptions.txt").write_text("\n".join(lines) + "\n")
    return root
