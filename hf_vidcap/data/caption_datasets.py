"""Video-caption datasets in one schema: ``video`` (`datasets.Video(decode=False)`), ``video_id`` and ``captions``
(the list of reference captions), plus source-specific columns.

- ``"msrvtt"``: the official annotation file ``MSRVTT_data.json`` (``videos``: id, split, category, ...;
  ``sentences``: caption, video_id) with the videos in ``video_dir`` (default ``<data_dir>/videos/all``,
  ``<video_id>.mp4``). Splits: the official ``"train"`` / ``"validate"`` / ``"test"`` (6,513 / 497 / 2,990 videos),
  and the retrieval-era ``"train_9k"``, ``"train_7k"`` and ``"test_1k"`` read from ``MSRVTT_train.9k.csv``,
  ``MSRVTT_train.7k.csv`` and ``MSRVTT_JSFUSION_test.csv`` in ``data_dir`` (as distributed with CLIP4Clip); every
  video keeps all of its reference captions. The Hub has the annotations only (e.g. friedrichor/MSR-VTT), not the
  videos in a loadable form: download the videos and pass ``video_dir``.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

CAPTION_DATASETS = ("msrvtt",)
MSRVTT_SPLIT_FILES = {"train_9k": "MSRVTT_train.9k.csv", "train_7k": "MSRVTT_train.7k.csv", "test_1k": "MSRVTT_JSFUSION_test.csv"}
MSRVTT_SPLITS = ("train", "validate", "test", *MSRVTT_SPLIT_FILES)


def _msrvtt(data_dir: Path, split: str, video_dir: Path) -> dict[str, list]:
    annotations = data_dir / "MSRVTT_data.json"
    if not annotations.exists():
        raise FileNotFoundError(f"{annotations} is missing; data_dir must hold MSR-VTT's MSRVTT_data.json.")
    data = json.loads(annotations.read_text())
    videos = {v["video_id"]: v for v in data["videos"]}
    captions: dict[str, list[str]] = {}
    for sentence in data["sentences"]:
        captions.setdefault(sentence["video_id"], []).append(sentence["caption"])
    if split in MSRVTT_SPLIT_FILES:
        listing = data_dir / MSRVTT_SPLIT_FILES[split]
        if not listing.exists():
            raise FileNotFoundError(f"{listing} is missing; the {split} split is read from it (distributed with CLIP4Clip).")
        with open(listing, newline="") as handle:
            ids = list(dict.fromkeys(row["video_id"] for row in csv.DictReader(handle)))
    else:
        ids = [v["video_id"] for v in data["videos"] if v.get("split") == split]
    unknown = [i for i in ids if i not in videos]
    if unknown:
        raise ValueError(f"{len(unknown)} videos of split {split!r} are not in MSRVTT_data.json, e.g. {unknown[:3]}.")
    empty = [i for i in ids if not captions.get(i)]
    if empty:
        raise ValueError(f"{len(empty)} videos of split {split!r} have no captions in MSRVTT_data.json, e.g. {empty[:3]}.")
    return {
        "video": [{"path": str(video_dir / f"{i}.mp4"), "bytes": None} for i in ids],
        "video_id": ids,
        "captions": [captions[i] for i in ids],
        "category": [int(videos[i].get("category", -1)) for i in ids],
    }


def load_caption_dataset(
    name: str,
    split: str = "train",
    *,
    data_dir: str | os.PathLike,
    video_dir: str | os.PathLike | None = None,
    check_files: bool = True,
):
    """Load a video-caption split in hf_vidcap's schema (see the module docstring for the sources and splits).

    Args:
        name (`str`): ``"msrvtt"``.
        split (`str`): for msrvtt ``"train"``, ``"validate"``, ``"test"``, ``"train_9k"``, ``"train_7k"`` or
            ``"test_1k"``.
        data_dir (`str`): the annotations.
        video_dir (`str`, *optional*): the videos (default ``<data_dir>/videos/all``).
        check_files (`bool`, *optional*, defaults to `True`): fail, naming them, when videos are missing.

    Returns:
        `datasets.Dataset` with ``video``, ``video_id``, ``captions`` and ``category``.
    """
    import datasets

    if name not in CAPTION_DATASETS:
        raise ValueError(f"unknown caption dataset {name!r}; use one of {CAPTION_DATASETS}, or load_video_caption_dataset for any Hub/local dataset in the schema.")
    if split not in MSRVTT_SPLITS:
        raise ValueError(f"split {split!r} is unknown for {name}; use one of {MSRVTT_SPLITS}.")
    data_dir = Path(data_dir)
    video_dir = Path(video_dir) if video_dir is not None else data_dir / "videos" / "all"
    columns = _msrvtt(data_dir, split, video_dir)
    if check_files:
        missing = [v["path"] for v in columns["video"] if not os.path.exists(v["path"])]
        if missing:
            raise FileNotFoundError(f"{len(missing)} videos are missing, e.g. {missing[:3]}; check video_dir.")
    features = datasets.Features(
        {
            "video": datasets.Video(decode=False),
            "video_id": datasets.Value("string"),
            "captions": datasets.Sequence(datasets.Value("string")),
            "category": datasets.Value("int32"),
        }
    )
    return datasets.Dataset.from_dict(columns, features=features)
