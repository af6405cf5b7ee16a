"""Video-caption datasets in one schema: ``video`` (`datasets.Video(decode=False)`: ``{"path", "bytes"}``),
``video_id`` and ``captions`` (every reference caption of the video), plus source-specific columns.

Each dataset can be read from up to three places:

- ``source``: its Hub repository (the default when no ``data_dir`` / ``data_files`` is given), or a local directory
  holding a copy of that repository in the same layout. Only the files the split needs are downloaded.
- ``data_dir``: the dataset's official release, in the layout its authors distribute.
- ``data_files``: your own annotation file(s) (json, jsonl, csv or parquet) with one row per video or per caption,
  a video-id column and a caption column (column names are matched against the usual spellings, see
  `CAPTION_COLUMNS`); the videos are looked up in ``video_dir``.

Datasets (datasets 5.x runs no loading scripts, so these read the files themselves):

- ``"msrvtt"``. Hub: ``friedrichor/MSR-VTT`` (``msrvtt_train_9k.json``, ``msrvtt_train_7k.json``,
  ``msrvtt_test_1k.json``: rows ``{"video_id", "video", "caption"}``; the videos are in the repository's
  ``MSRVTT_Videos.zip``, fetched and extracted with ``download_videos=True``). Splits ``"train_9k"``,
  ``"train_7k"``, ``"test_1k"``. Official (``data_dir``): ``MSRVTT_data.json`` with the official ``"train"`` /
  ``"validate"`` / ``"test"`` (6,513 / 497 / 2,990 videos) and the CLIP4Clip CSVs (``MSRVTT_train.9k.csv``,
  ``MSRVTT_train.7k.csv``, ``MSRVTT_JSFUSION_test.csv``) for the three retrieval-era splits; videos in
  ``video_dir`` (default ``<data_dir>/videos/all``). Every video keeps all of its reference captions.
- ``"msvd"``. Hub: ``friedrichor/MSVD`` (``msvd_{train,val,test}.json`` rows ``{"video_id", "video",
  "caption": [...]}``, videos in ``raw_videos/``, fetched for the split with ``download_videos=True``). Official
  (``data_dir``): ``AllVideoDescriptions.txt`` (``<video_id> <caption>`` lines) and ``{train,val,test}_list.txt``
  (the 1,200 / 100 / 670 split), videos in ``YouTubeClips/``. Splits ``"train"``, ``"validation"``, ``"test"``.
- ``"vatex"``. Hub: ``lmms-lab/VATEX`` (the public test set only: ``vatex_test/test-*.parquet`` with ``videoID``,
  ``enCap``). Official (``data_dir``): ``vatex_training_v1.0.json``, ``vatex_validation_v1.0.json``,
  ``vatex_public_test_english_v1.1.json``. No Hub repository carries the videos (YouTube clips): pass
  ``video_dir`` holding ``<videoID>.mp4``.
- ``"tgif"``. No Hub repository loads in datasets 5.x (the TGIF repos are loading scripts). Official
  (``data_dir``): ``tgif-v1.0.tsv`` (``<gif url>\\t<caption>``) and ``splits/{train,val,test}.txt`` (gif urls),
  either at the top level or under ``data/``; the GIFs in ``video_dir`` (default ``<data_dir>/gifs``), named by
  the url's file name.
- ``"coco"`` (images as one-frame videos, for WTF-RL and sequence-level exploration). Karpathy's split file
  ``dataset_coco.json`` in ``data_dir``, the images under ``video_dir`` (default ``data_dir``) at
  ``<filepath>/<filename>``. ``"train"`` is Karpathy's train + restval (113,287 images), ``"validation"`` and
  ``"test"`` 5,000 each. Decode them with ``num_frames=1``, or a larger T with ``short_video="repeat"``.
"""

from __future__ import annotations

import csv
import json
import os
import zipfile
from pathlib import Path

from .video import present_video_indices

CAPTION_DATASETS = ("msrvtt", "msvd", "vatex", "tgif", "coco")
HUB_REPOSITORIES = {"msrvtt": "friedrichor/MSR-VTT", "msvd": "friedrichor/MSVD", "vatex": "lmms-lab/VATEX"}
MSRVTT_SPLIT_FILES = {"train_9k": "MSRVTT_train.9k.csv", "train_7k": "MSRVTT_train.7k.csv", "test_1k": "MSRVTT_JSFUSION_test.csv"}
MSRVTT_HUB_FILES = {"train_9k": "msrvtt_train_9k.json", "train_7k": "msrvtt_train_7k.json", "test_1k": "msrvtt_test_1k.json"}
MSRVTT_SPLITS = ("train", "validate", "test", *MSRVTT_SPLIT_FILES)
SPLITS = {
    "msrvtt": MSRVTT_SPLITS,
    "msvd": ("train", "validation", "test"),
    "vatex": ("train", "validation", "test"),
    "tgif": ("train", "validation", "test"),
    "coco": ("train", "validation", "test"),
}
# Column spellings accepted in annotation rows, in order of preference.
CAPTION_COLUMNS = {
    "video_id": ("video_id", "videoID", "vid", "image_id", "id"),
    "caption": ("caption", "captions", "enCap", "sentence", "sentences", "text"),
    "file": ("video", "video_path", "path", "file", "filename"),
}
MEDIA_SUFFIXES = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".gif", ".jpg", ".jpeg", ".png")
_SHORT = {"validation": "val"}


# ----------------------------------------------------------------------------------------------------------- rows


def _pick_column(keys, role: str, where: str, required: bool = True) -> str | None:
    for candidate in CAPTION_COLUMNS[role]:
        if candidate in keys:
            return candidate
    if required:
        raise ValueError(
            f"{where}: no {role} column; the rows have {sorted(keys)}, expected one of {CAPTION_COLUMNS[role]}. "
            "Rename the column or pass data_files with one of those names."
        )
    return None


def group_caption_rows(rows: list[dict], where: str) -> tuple[list[str], list[str | None], list[list[str]]]:
    """Group annotation rows (one per video with a caption list, or one per caption) into ``(video_ids, files,
    captions)`` in first-seen order. Blank captions are dropped; a video left with none is an error naming it."""
    if not rows:
        raise ValueError(f"{where} holds no rows.")
    keys = set(rows[0])
    id_key = _pick_column(keys, "video_id", where)
    caption_key = _pick_column(keys, "caption", where)
    file_key = _pick_column(keys - {id_key, caption_key}, "file", where, required=False)
    captions: dict[str, list[str]] = {}
    files: dict[str, str | None] = {}
    for index, row in enumerate(rows):
        if id_key not in row or caption_key not in row:
            raise ValueError(f"{where}: row {index} lacks {id_key!r} or {caption_key!r}: {str(row)[:200]}.")
        video_id = str(row[id_key])
        value = row[caption_key]
        texts = [value] if isinstance(value, str) else list(value or [])
        if any(not isinstance(t, str) for t in texts):
            raise ValueError(f"{where}: row {index} (video {video_id!r}) has a non-text caption {value!r}.")
        captions.setdefault(video_id, []).extend(t.strip() for t in texts if t.strip())
        if file_key is not None and row.get(file_key):
            files.setdefault(video_id, os.path.basename(str(row[file_key])))
    empty = [v for v, c in captions.items() if not c]
    if empty:
        raise ValueError(f"{where}: {len(empty)} videos have no non-empty caption, e.g. {empty[:3]}; drop them or fix the annotations.")
    ids = list(captions)
    return ids, [files.get(v) for v in ids], [captions[v] for v in ids]


def _read_rows(path: Path) -> list[dict]:
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):  # {"annotations": [...]}-style wrappers
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) != 1:
                raise ValueError(f"{path}: expected a list of rows or a dict holding one list, got keys {sorted(data)}.")
            data = lists[0]
        return data
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    raise ValueError(f"{path}: unsupported annotation format {path.suffix!r}; use .json, .jsonl, .csv or .parquet.")


def _read_many(paths: list[Path], where: str) -> list[dict]:
    rows = []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; {where} is read from it.")
        rows += _read_rows(path)
    return rows


# ---------------------------------------------------------------------------------------------------------- Hub


def hub_snapshot(source: str, patterns: list[str], revision: str | None = None, token: str | bool | None = None) -> Path:
    """A local directory holding ``patterns`` of ``source``: the directory itself when ``source`` is one (a copy of
    the repository), else a `huggingface_hub.snapshot_download` of just those files from the dataset repo."""
    if os.path.isdir(source):
        return Path(source)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(source, repo_type="dataset", allow_patterns=patterns, revision=revision, token=token))
    except Exception as error:  # offline, unreachable, missing or private: say what to pass instead
        raise OSError(
            f"cannot fetch {patterns} of the Hub dataset {source!r} ({type(error).__name__}: {str(error).splitlines()[0]}). "
            "Without the Hub, pass data_dir= (--data_dir: the official release) or source= (a local copy of the "
            "repository), and video_dir= (--video_dir) where the videos are."
        ) from error


def _extract_once(archive: Path) -> Path:
    target = archive.with_name(archive.name.rsplit(".", 1)[0] + "_extracted")
    if not (target / ".complete").exists():
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(target)
        (target / ".complete").touch()
    return target


# ---------------------------------------------------------------------------------------------------- per source


def _msrvtt_official(data_dir: Path, split: str):
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
    extra = {"category": [int(videos[i].get("category", -1)) for i in ids]}
    return ids, [f"{i}.mp4" for i in ids], [captions[i] for i in ids], extra


def _listed_captions(rows: list[dict], listing: Path, annotations: Path, kind: str, suffix: str):
    """The videos named in a split listing (one per line, a name or url whose stem is the id), with their captions
    from ``rows``; a listed video without a caption is an error naming it."""
    wanted = [Path(line.strip()).stem for line in listing.read_text().splitlines() if line.strip()]
    known = set(wanted)
    ids, _, captions = group_caption_rows([r for r in rows if r["video_id"] in known], str(annotations))
    by_id = dict(zip(ids, captions))
    missing = [v for v in wanted if v not in by_id]
    if missing:
        raise ValueError(f"{len(missing)} {kind} of {listing.name} have no caption in {annotations.name}, e.g. {missing[:3]}.")
    return wanted, [f"{v}{suffix}" for v in wanted], [by_id[v] for v in wanted], {}


def _msvd_official(data_dir: Path, split: str):
    descriptions, listing = data_dir / "AllVideoDescriptions.txt", data_dir / f"{_SHORT.get(split, split)}_list.txt"
    for needed in (descriptions, listing):
        if not needed.exists():
            raise FileNotFoundError(
                f"{needed} is missing; data_dir must hold MSVD's AllVideoDescriptions.txt and train_list.txt / "
                "val_list.txt / test_list.txt (the raw_data folder of friedrichor/MSVD has them)."
            )
    rows = []
    for line in descriptions.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and " " in line.strip():
            video_id, caption = line.strip().split(" ", 1)
            rows.append({"video_id": video_id, "caption": caption})
    return _listed_captions(rows, listing, descriptions, "videos", ".avi")


VATEX_FILES = {"train": "vatex_training_v1.0.json", "validation": "vatex_validation_v1.0.json", "test": "vatex_public_test_english_v1.1.json"}


def _tgif_official(data_dir: Path, split: str):
    base = data_dir / "data" if (data_dir / "data" / "tgif-v1.0.tsv").exists() else data_dir
    annotations, listing = base / "tgif-v1.0.tsv", base / "splits" / f"{_SHORT.get(split, split)}.txt"
    for needed in (annotations, listing):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing; data_dir must hold TGIF's tgif-v1.0.tsv and splits/{{train,val,test}}.txt.")
    rows = []
    for number, line in enumerate(annotations.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            if "\t" not in line:
                raise ValueError(f"{annotations}:{number} is not '<gif url>\\t<caption>': {line[:120]!r}.")
            url, caption = line.split("\t", 1)
            rows.append({"video_id": Path(url.strip()).stem, "caption": caption})
    return _listed_captions(rows, listing, annotations, "GIFs", ".gif")


def _coco_karpathy(data_dir: Path, split: str):
    path = data_dir / "dataset_coco.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; data_dir must hold Karpathy's split file dataset_coco.json.")
    wanted = {"train": {"train", "restval"}, "validation": {"val"}, "test": {"test"}}[split]
    images = [image for image in json.loads(path.read_text())["images"] if image["split"] in wanted]
    rows = [
        {"video_id": str(image["cocoid"]), "caption": [s["raw"] for s in image["sentences"]], "video": None}
        for image in images
    ]
    ids, _, captions = group_caption_rows(rows, str(path))
    files = [f"{image['filepath']}/{image['filename']}" for image in images]
    return ids, files, captions, {}


# --------------------------------------------------------------------------------------------------------- videos


def _index_media(folder: Path) -> dict[str, str]:
    """``{file name: path, stem: path}`` of every media file under ``folder`` (recursively)."""
    index: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in MEDIA_SUFFIXES and path.is_file():
            index.setdefault(path.name, str(path))
            index.setdefault(path.stem, str(path))
    return index


def _locate(video_dir: Path, ids: list[str], files: list[str | None]) -> list[str]:
    """The path of each video: ``video_dir / file`` when that exists, else looked up by file name or id anywhere
    under ``video_dir`` (releases nest their videos differently). Unfound videos keep the direct path."""
    direct = [video_dir / (f if f else f"{i}.mp4") for i, f in zip(ids, files)]
    if all(p.exists() for p in direct) or not video_dir.is_dir():
        return [str(p) for p in direct]
    index = _index_media(video_dir)
    located = []
    for video_id, file, path in zip(ids, files, direct):
        found = path.exists() and str(path)
        found = found or (file and index.get(os.path.basename(file))) or index.get(video_id)
        located.append(found or str(path))
    return located


# ---------------------------------------------------------------------------------------------------------- entry


def load_caption_dataset(
    name: str,
    split: str = "train",
    *,
    source: str | None = None,
    data_dir: str | os.PathLike | None = None,
    data_files: str | os.PathLike | list | None = None,
    video_dir: str | os.PathLike | None = None,
    download_videos: bool = False,
    revision: str | None = None,
    token: str | bool | None = None,
    check_files: bool = True,
    skip_missing: bool = False,
):
    """Load a video-caption split in hf_vidcap's schema (see the module docstring for the sources and splits).

    Args:
        name (`str`): ``"msrvtt"``, ``"msvd"``, ``"vatex"``, ``"tgif"`` or ``"coco"``.
        split (`str`): one of ``SPLITS[name]``.
        source (`str`, *optional*): a Hub dataset repository in the layout of ``HUB_REPOSITORIES[name]`` (the
            default), or a local directory holding a copy of it.
        data_dir (`str`, *optional*): the official release (see the module docstring for each layout).
        data_files (`str` or `list`, *optional*): your own annotation file(s), read instead of ``source`` /
            ``data_dir``; needs ``video_dir``.
        video_dir (`str`, *optional*): where the videos are; searched recursively by file name or video id.
        download_videos (`bool`, *optional*): also fetch the videos from the Hub repository when it has them
            (msrvtt's zip, msvd's raw_videos).
        revision, token: passed to `huggingface_hub.snapshot_download`.
        check_files (`bool`, *optional*, defaults to `True`): fail, naming them, when videos are missing.
        skip_missing (`bool`, *optional*): drop videos that are missing instead, with a warning giving the count.

    Returns:
        `datasets.Dataset` with ``video``, ``video_id``, ``captions`` (and ``category`` for official MSR-VTT).
    """
    import datasets

    if name not in CAPTION_DATASETS:
        raise ValueError(f"unknown caption dataset {name!r}; use one of {CAPTION_DATASETS}, or load_video_caption_dataset for any Hub/local dataset in the schema.")
    if split not in SPLITS[name]:
        raise ValueError(f"split {split!r} is unknown for {name}; use one of {SPLITS[name]}.")
    if sum(x is not None for x in (source, data_dir, data_files)) > 1:
        raise ValueError("pass at most one of source (Hub repository or its local copy), data_dir (official release) and data_files.")
    extra: dict[str, list] = {}
    if data_files is not None:
        if video_dir is None:
            raise ValueError("data_files gives the annotations only; pass video_dir with the videos.")
        paths = [Path(p) for p in (data_files if isinstance(data_files, (list, tuple)) else [data_files])]
        ids, files, captions = group_caption_rows(_read_many(paths, f"{name} {split}"), ", ".join(map(str, paths)))
        default_videos = Path(video_dir)
    elif data_dir is not None:
        data_dir = Path(data_dir)
        if name == "msrvtt":
            ids, files, captions, extra = _msrvtt_official(data_dir, split)
            default_videos = data_dir / "videos" / "all"
        elif name == "msvd":
            ids, files, captions, extra = _msvd_official(data_dir, split)
            default_videos = data_dir / "YouTubeClips"
        elif name == "vatex":
            path = data_dir / VATEX_FILES[split]
            ids, files, captions = group_caption_rows(_read_many([path], f"vatex {split}"), str(path))
            files, default_videos = [None] * len(ids), data_dir / "videos"
        elif name == "tgif":
            ids, files, captions, extra = _tgif_official(data_dir, split)
            default_videos = data_dir / "gifs"
        else:
            ids, files, captions, extra = _coco_karpathy(data_dir, split)
            default_videos = data_dir
    else:
        if name not in HUB_REPOSITORIES:
            raise ValueError(f"{name} has no Hub repository that loads in datasets 5.x; download the official release and pass data_dir.")
        source = source or HUB_REPOSITORIES[name]
        if name == "msrvtt":
            if split not in MSRVTT_HUB_FILES:
                raise ValueError(f"{source} carries the {tuple(MSRVTT_HUB_FILES)} splits; for {split!r} pass data_dir with the official MSRVTT_data.json.")
            root = hub_snapshot(source, [MSRVTT_HUB_FILES[split]], revision, token)
            ids, files, captions = group_caption_rows(_read_many([root / MSRVTT_HUB_FILES[split]], f"msrvtt {split}"), f"{source}/{MSRVTT_HUB_FILES[split]}")
            default_videos = root
            if download_videos and video_dir is None:
                archive = hub_snapshot(source, ["MSRVTT_Videos.zip"], revision, token) / "MSRVTT_Videos.zip"
                if not archive.exists():
                    raise FileNotFoundError(f"{source} has no MSRVTT_Videos.zip; download the videos and pass video_dir.")
                default_videos = _extract_once(archive)
        elif name == "msvd":
            file = f"msvd_{_SHORT.get(split, split)}.json"
            root = hub_snapshot(source, [file], revision, token)
            ids, files, captions = group_caption_rows(_read_many([root / file], f"msvd {split}"), f"{source}/{file}")
            files = [f or f"{i}.avi" for i, f in zip(ids, files)]
            if download_videos and video_dir is None:
                root = hub_snapshot(source, [f"raw_videos/{f}" for f in files], revision, token)
            default_videos = root / "raw_videos"
        else:  # vatex: the public test set's annotations only
            if split != "test":
                raise ValueError(f"{source} carries the public test split only; for {split!r} pass data_dir with the official VATEX json files.")
            root = hub_snapshot(source, ["vatex_test/*"], revision, token)
            paths = sorted((root / "vatex_test").glob("test-*.parquet"))
            if not paths:
                raise FileNotFoundError(f"{root / 'vatex_test'} holds no test-*.parquet; is {source} in lmms-lab/VATEX's layout?")
            ids, files, captions = group_caption_rows(_read_many(paths, "vatex test"), f"{source}/vatex_test")
            files, default_videos = [None] * len(ids), Path(video_dir) if video_dir else root / "videos"
    video_root = Path(video_dir) if video_dir is not None else default_videos
    paths = _locate(video_root, ids, files)
    download_hint = ", or pass download_videos=True" if name in ("msrvtt", "msvd") and data_dir is None and data_files is None else ""
    keep = present_video_indices(paths, f"{name} {split}", skip_missing, check_files, "videos", f"check video_dir{download_hint}")
    if len(keep) < len(paths):
        ids, paths, captions = [ids[i] for i in keep], [paths[i] for i in keep], [captions[i] for i in keep]
        extra = {key: [values[i] for i in keep] for key, values in extra.items()}
    features = {
        "video": datasets.Video(decode=False),
        "video_id": datasets.Value("string"),
        "captions": datasets.Sequence(datasets.Value("string")),
    }
    if "category" in extra:
        features["category"] = datasets.Value("int32")
    columns = {"video": [{"path": p, "bytes": None} for p in paths], "video_id": ids, "captions": captions, **extra}
    return datasets.Dataset.from_dict(columns, features=datasets.Features(features))
