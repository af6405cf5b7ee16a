"""Action-recognition datasets in one schema, for zero-shot evaluation from captions (ReGen, CLASTER).

Every loader returns a `datasets.Dataset` with ``video`` (`datasets.Video(decode=False)`: ``{"path", "bytes"}``),
``video_id`` and ``label`` (a `ClassLabel` whose names are natural phrases: ``ApplyEyeMakeup`` -> "apply eye
makeup", ``brush_hair`` -> "brush hair"), which is what caption-based classification compares captions with.

Sources (datasets 5.x runs no loading scripts, so these read the files themselves):

- ``"ucf101"``: the official release, a local ``data_dir`` holding ``UCF-101/<Class>/*.avi`` and
  ``ucfTrainTestlist/`` (``classInd.txt``, ``trainlist0{1,2,3}.txt``, ``testlist0{1,2,3}.txt``). No Hub repository
  carries the full videos in a loadable form.
- ``"ucf101-subset"``: the Hub repository ``sayakpaul/ucf101-subset`` (``UCF101_subset.tar.gz`` with
  ``UCF101_subset/{train,val,test}/<Class>/*.avi``), or that archive / its extracted folder as ``data_dir``.
- ``"hmdb51"``: the official release, a local ``data_dir`` holding ``<class>/*.avi`` and
  ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` (1 = train, 2 = test, 0 = unused); or, with
  ``source=``, a Hub repository of parquet shards with a video column and a label column (``CVML-TueAI/HMDB51``;
  the columns are found from the features: the `datasets.Video` / ``video`` column and the `ClassLabel` or
  ``label`` / ``class`` / ``action`` column), loaded with `datasets.load_dataset` and split as the repository splits.
- ``"olympic_sports"`` (16 classes) and ``"folder"`` (any dataset): ``<data_dir>/<class>/<video>``, or
  ``<data_dir>/{train,test}/<class>/<video>`` for an official split. Olympic Sports is distributed as ``.seq`` files,
  which FFmpeg cannot read: convert them to .mp4/.avi first. No Hub repository carries it.
- ``"kinetics400"`` / ``"kinetics600"``: the official annotation CSVs (``label,youtube_id,time_start,time_end,split``)
  ``train.csv`` / ``validate.csv`` (or ``val.csv``) / ``test.csv`` in ``data_dir`` or ``data_dir/annotations``; the
  clips anywhere under ``video_dir`` (default ``data_dir``), named ``<youtube_id>_<start:06d>_<end:06d>.<ext>`` (the
  crawler's naming) or ``<youtube_id>.<ext>``. The videos come from YouTube; no Hub repository carries them.
- ``"kinetics220"``: ER-ZSAR's zero-shot benchmark used by ReGen, from a Kinetics-600 ``data_dir`` and the
  Kinetics-400 class names (``kinetics400_classes``: a K400 CSV, a text file with one class per line, or a list).
  The novel classes are K600's classes that are not K400 classes; each of 3 splits takes 160 of them for testing
  and the rest for validation. ER-ZSAR's exact class lists are not distributed with the papers: pass them as
  ``class_split`` (``{"test": [...160], "validation": [...]}``) to reproduce their numbers; without it split k is a
  seeded draw (``zero_shot_draw=k``, k = 0, 1, 2). Splits: ``"test"`` (1-vs-160: the label space is the 160 test
  classes), ``"test_generalized"`` (1-vs-620: the same videos, labels over the 400 K400 classes + the novel
  classes), ``"validation"``. The videos are those of K600's ``video_split`` (default ``"test"``).

Splits: ``"train"`` / ``"test"`` of an official ``fold`` (1-3), or a seen/unseen class split: with
``zero_shot_draw=k``, the 50/50 split of draw k (k = 0..9, seeded; CLASTER / Xu et al. report the mean over 10
draws), or with ``class_split={"seen": [...], "unseen": [...]}`` (a dict or a JSON file) a fixed one such as TruZe's
(UCF-101 70/31, HMDB-51 29/22 classes; its lists are not in the papers, pass them from the TruZe release; see
`TRUZE_SIZES`). Zero-shot splits: ``"train"`` = the seen classes' videos (80%), ``"test_seen"`` = the other 20% of
them, ``"test_unseen"`` = every video of the unseen classes, ``"test_generalized"`` = test_seen + test_unseen.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import tarfile
import warnings
from pathlib import Path

import numpy as np

from .video import present_video_indices

logger = logging.getLogger(__name__)

ACTION_DATASETS = ("ucf101", "ucf101-subset", "hmdb51", "olympic_sports", "folder", "kinetics400", "kinetics600", "kinetics220")
HMDB51_REPO = "CVML-TueAI/HMDB51"
TRUZE_SIZES = {"ucf101": (70, 31), "hmdb51": (29, 22)}  # (seen, unseen) classes of the TruZe split
KINETICS220_TEST_CLASSES = 160
UCF101_SUBSET_REPO = "sayakpaul/ucf101-subset"
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".webm", ".mov")
ZERO_SHOT_SEED = 2026  # the draws are np.random.default_rng([ZERO_SHOT_SEED, draw]) permutations of the classes


def natural_class_name(name: str) -> str:
    """``ApplyEyeMakeup`` -> "apply eye makeup", ``brush_hair`` -> "brush hair", ``YoYo`` -> "yo yo"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name.replace("_", " ").replace("-", " "))
    return " ".join(words.lower().split())


def zero_shot_classes(num_classes: int, draw: int, unseen_fraction: float = 0.5) -> tuple[list[int], list[int]]:
    """``(seen, unseen)`` class indices of the 50/50 split number ``draw`` (a seeded permutation; the unseen half is
    rounded down: 101 UCF classes give 51 seen, 50 unseen)."""
    if not 0 <= draw:
        raise ValueError(f"zero_shot_draw ({draw}) must be a non-negative integer.")
    if not 0 < unseen_fraction < 1:
        raise ValueError(f"unseen_fraction ({unseen_fraction}) must be in (0, 1).")
    order = np.random.default_rng([ZERO_SHOT_SEED, draw]).permutation(num_classes)
    num_unseen = int(num_classes * unseen_fraction)
    return sorted(order[num_unseen:].tolist()), sorted(order[:num_unseen].tolist())


def _class_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _rows_from_folders(root: Path, classes: list[str]) -> list[tuple[str, int]]:
    rows = []
    for index, name in enumerate(classes):
        folder = root / name
        if folder.is_dir():
            rows += [(str(p), index) for p in sorted(folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES]
    return rows


def _ucf101(data_dir: Path, split: str, fold: int) -> tuple[list[tuple[str, int]], list[str]]:
    lists, videos = data_dir / "ucfTrainTestlist", data_dir / "UCF-101"
    for needed in (lists / "classInd.txt", videos):
        if not needed.exists():
            raise FileNotFoundError(
                f"{needed} is missing; data_dir must hold the official UCF-101 release: UCF-101/<Class>/*.avi and "
                "ucfTrainTestlist/ (classInd.txt, trainlist0N.txt, testlist0N.txt)."
            )
    classes = [line.split()[1] for line in (lists / "classInd.txt").read_text().splitlines() if line.strip()]
    if split is None:
        return _rows_from_folders(videos, classes), classes
    index = {name: i for i, name in enumerate(classes)}
    listing = lists / f"{'trainlist' if split == 'train' else 'testlist'}0{fold}.txt"
    rows = []
    for line in listing.read_text().splitlines():
        if line.strip():
            relative = line.split()[0]
            rows.append((str(videos / relative), index[relative.split("/")[0]]))
    return rows, classes


def _hmdb51(data_dir: Path, split: str, fold: int) -> tuple[list[tuple[str, int]], list[str]]:
    splits = data_dir / "testTrainMulti_7030_splits"
    if not splits.is_dir():
        raise FileNotFoundError(
            f"{splits} is missing; data_dir must hold the official HMDB-51 release: <class>/*.avi and "
            "testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt."
        )
    classes = sorted({p.name.rsplit("_test_split", 1)[0] for p in splits.glob("*_test_split*.txt")})
    if split is None:
        return _rows_from_folders(data_dir, classes), classes
    wanted = "1" if split == "train" else "2"
    rows = []
    for index, name in enumerate(classes):
        for line in (splits / f"{name}_test_split{fold}.txt").read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == wanted:
                rows.append((str(data_dir / name / parts[0]), index))
    return rows, classes


def _ucf101_subset(data_dir: Path | None, split: str, source: str | None = None, revision=None, token=None) -> tuple[list[tuple[str, int]], list[str]]:
    if data_dir is None and source is not None and os.path.isdir(source):
        data_dir = Path(source)
    if data_dir is None:
        from huggingface_hub import hf_hub_download

        data_dir = Path(hf_hub_download(source or UCF101_SUBSET_REPO, "UCF101_subset.tar.gz", repo_type="dataset", revision=revision, token=token))
    if data_dir.is_dir() and (data_dir / "UCF101_subset.tar.gz").is_file() and not (data_dir / "UCF101_subset").is_dir():
        data_dir = data_dir / "UCF101_subset.tar.gz"
    if data_dir.is_file():
        target = data_dir.with_name(data_dir.name.replace(".tar.gz", "") + "_extracted")
        if not (target / ".complete").exists():
            with tarfile.open(data_dir) as archive:
                archive.extractall(target, filter="data")
            (target / ".complete").touch()
        data_dir = target
    root = data_dir / "UCF101_subset" if (data_dir / "UCF101_subset").is_dir() else data_dir
    folder = {"train": "train", "validation": "val", "val": "val", "test": "test"}.get(split or "train")
    if not (root / folder).is_dir():
        raise FileNotFoundError(f"{root / folder} is missing; expected UCF101_subset/{{train,val,test}}/<Class>/*.avi.")
    classes = sorted({name for part in ("train", "val", "test") if (root / part).is_dir() for name in _class_folders(root / part)})
    if split is None:
        rows = []
        for part in ("train", "val", "test"):
            rows += _rows_from_folders(root / part, classes)
        return rows, classes
    return _rows_from_folders(root / folder, classes), classes


def _folder(data_dir: Path, split: str | None) -> tuple[list[tuple[str, int]], list[str]]:
    """``<data_dir>/<class>/<video>``, or ``<data_dir>/{train,test}/<class>/<video>`` with an official split."""
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{data_dir} is not a directory; data_dir must hold <class>/<video> folders.")
    split_dirs = [data_dir / part for part in ("train", "test") if (data_dir / part).is_dir()]
    if split is not None and not split_dirs:
        raise ValueError(f"{data_dir} has no train/ and test/ folders, so it has no official split; use zero_shot_draw or class_split.")
    roots = split_dirs or [data_dir]
    classes = sorted({name for root in roots for name in _class_folders(root)})
    if not classes:
        raise FileNotFoundError(f"{data_dir} holds no class folders; expected <class>/<video> (or train|test/<class>/<video>).")
    if split is not None:
        return _rows_from_folders(data_dir / split, classes), classes
    rows = []
    for root in roots:
        rows += _rows_from_folders(root, classes)
    return rows, classes


def _kinetics_csv(data_dir: Path, split: str) -> Path:
    names = {"train": ("train",), "validation": ("validate", "val"), "test": ("test",)}[split]
    for folder in (data_dir, data_dir / "annotations"):
        for name in names:
            if (folder / f"{name}.csv").exists():
                return folder / f"{name}.csv"
    raise FileNotFoundError(
        f"no {' or '.join(n + '.csv' for n in names)} in {data_dir} or {data_dir / 'annotations'}; data_dir must hold "
        "the official Kinetics annotation CSVs (label,youtube_id,time_start,time_end,split)."
    )


def _kinetics_rows(data_dir: Path, split: str, video_dir: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """``([(path, class name)], sorted class names)`` of a Kinetics CSV, videos found by their crawler names."""
    path = _kinetics_csv(data_dir, split)
    with open(path, newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    if records and not {"label", "youtube_id", "time_start", "time_end"} <= set(records[0]):
        raise ValueError(f"{path} has columns {sorted(records[0])}; expected label,youtube_id,time_start,time_end.")
    index: dict[str, str] = {}
    for media in sorted(video_dir.rglob("*")) if video_dir.is_dir() else []:
        if media.suffix.lower() in VIDEO_SUFFIXES:
            index.setdefault(media.stem, str(media))
    rows = []
    for record in records:
        stem = f"{record['youtube_id']}_{int(float(record['time_start'])):06d}_{int(float(record['time_end'])):06d}"
        found = index.get(stem) or index.get(record["youtube_id"]) or str(video_dir / record["label"] / f"{stem}.mp4")
        rows.append((found, record["label"]))
    return rows, sorted({label for _, label in rows})


def _read_class_list(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    path = Path(value)
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            return sorted({row["label"] for row in csv.DictReader(handle)})
    if path.suffix == ".json":
        return [str(v) for v in json.loads(path.read_text())]
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _load_class_split(class_split, keys: tuple[str, str]) -> dict[str, list[str]]:
    if isinstance(class_split, (str, os.PathLike)):
        class_split = json.loads(Path(class_split).read_text())
    if not isinstance(class_split, dict) or not set(keys) <= set(class_split):
        raise ValueError(f"class_split must be a dict (or JSON file) with the keys {keys}, got {type(class_split).__name__} {list(class_split)[:4] if isinstance(class_split, dict) else ''}.")
    return {key: [str(v) for v in class_split[key]] for key in keys}


def _match_classes(wanted: list[str], classes: list[str], what: str) -> list[int]:
    """Indices of ``wanted`` class names in ``classes``, compared as natural phrases (``YoYo`` == "yo yo")."""
    lookup = {natural_class_name(c): i for i, c in enumerate(classes)}
    unknown = [w for w in wanted if natural_class_name(w) not in lookup]
    if unknown:
        raise ValueError(f"{what}: {len(unknown)} classes are not in the dataset, e.g. {unknown[:3]}; its classes are e.g. {classes[:5]}.")
    return sorted({lookup[natural_class_name(w)] for w in wanted})


def _kinetics220(data_dir: Path, split: str, video_dir: Path, kinetics400_classes, class_split, draw: int | None, video_split: str):
    if kinetics400_classes is None:
        raise ValueError("kinetics220 needs kinetics400_classes (a Kinetics-400 CSV, a text file of class names, or a list) to tell the novel classes.")
    k400 = _read_class_list(kinetics400_classes)
    rows, k600 = _kinetics_rows(data_dir, video_split, video_dir)
    known = {natural_class_name(c) for c in k400}
    novel = [c for c in k600 if natural_class_name(c) not in known]
    if not novel:
        raise ValueError("kinetics220: every Kinetics-600 class of the videos is a Kinetics-400 class; check kinetics400_classes.")
    if class_split is not None:
        chosen = _load_class_split(class_split, ("test",))["test"]
        test_classes = [novel[i] for i in _match_classes(chosen, novel, "class_split['test'] (Kinetics-220 novel classes)")]
    else:
        if draw is None:
            draw = 0
        if len(novel) != 220:
            message = f"kinetics220: {len(novel)} Kinetics-600 classes are not Kinetics-400 class names (ER-ZSAR lists 220); pass class_split with ER-ZSAR's lists to reproduce its splits."
            warnings.warn(message, stacklevel=3)
        order = np.random.default_rng([ZERO_SHOT_SEED, 220, draw]).permutation(len(novel))
        test_classes = sorted(novel[i] for i in order[: min(KINETICS220_TEST_CLASSES, len(novel))])
    if split == "validation":
        space = sorted(set(novel) - set(test_classes))
    elif split == "test":
        space = test_classes
    else:  # generalised: K400's classes plus every novel class (620 with the official lists)
        space = sorted(set(k400) | set(novel), key=lambda c: (natural_class_name(c) not in known, c))
    wanted = set(test_classes) if split != "validation" else set(space)
    index = {c: i for i, c in enumerate(space)}
    lookup = {natural_class_name(c): i for c, i in index.items()}
    return [(path, lookup[natural_class_name(label)]) for path, label in rows if label in wanted], space


def _label_column(features) -> tuple[str, list[str] | None]:
    import datasets

    for name, feature in features.items():
        if isinstance(feature, datasets.ClassLabel):
            return name, feature.names
    for name in ("label", "labels", "class", "class_name", "action", "category"):
        if name in features:
            return name, None
    raise ValueError(f"no label column: the features are {list(features)}; expected a ClassLabel or a 'label'/'class'/'action' column.")


def _video_column(features) -> str:
    import datasets

    for name, feature in features.items():
        if isinstance(feature, datasets.Video):
            return name
    for name in ("video", "video_path", "path", "file"):
        if name in features:
            return name
    raise ValueError(f"no video column: the features are {list(features)}; expected a datasets.Video or a 'video'/'path' column.")


def _hub_action(source: str, split: str, revision, token):
    """A Hub repository (or its local copy) of parquet/json/folder data loaded with `datasets.load_dataset`."""
    import datasets

    try:
        loaded = datasets.load_dataset(source, revision=revision, token=token)
    except (ConnectionError, OSError) as error:  # offline, unreachable or missing: say what to pass instead
        raise OSError(
            f"cannot load the Hub dataset {source!r} ({type(error).__name__}: {str(error).splitlines()[0]}). Without the "
            "Hub, pass data_dir= (--data_dir: the official release, or a folder of one sub-folder of videos per class)."
        ) from error
    if split not in loaded:
        raise ValueError(f"{source} has the splits {list(loaded)}, not {split!r}.")
    dataset = loaded[split]
    video_column = _video_column(dataset.features)
    label_column, names = _label_column(dataset.features)
    if isinstance(dataset.features[video_column], datasets.Video):
        dataset = dataset.cast_column(video_column, datasets.Video(decode=False))
    videos, labels = dataset[video_column], dataset[label_column]
    if names is None:
        names = sorted({str(v) for v in labels})
        labels = [names.index(str(v)) for v in labels]
    videos = [v if isinstance(v, dict) else {"path": v, "bytes": None} for v in videos]
    return videos, list(labels), names


def load_action_dataset(
    name: str,
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    source: str | None = None,
    video_dir: str | os.PathLike | None = None,
    fold: int = 1,
    zero_shot_draw: int | None = None,
    class_split: dict | str | os.PathLike | None = None,
    kinetics400_classes=None,
    video_split: str = "test",
    revision: str | None = None,
    token: str | bool | None = None,
    check_files: bool = True,
    skip_missing: bool = False,
):
    """Load an action-recognition split in hf_vidcap's schema (see the module docstring for sources and splits).

    Args:
        name (`str`): one of `ACTION_DATASETS`.
        split (`str`): ``"train"`` or ``"test"`` (``"validation"`` for ucf101-subset and Kinetics); with
            ``zero_shot_draw`` / ``class_split``: ``"train"``, ``"test_seen"``, ``"test_unseen"`` or
            ``"test_generalized"``; for kinetics220: ``"test"``, ``"test_generalized"`` or ``"validation"``.
        data_dir (`str`, *optional*): the local copy of the official release.
        source (`str`, *optional*): a Hub dataset repository (or a local copy of one) for ucf101-subset and hmdb51.
        video_dir (`str`, *optional*): for Kinetics, where the clips are (default ``data_dir``).
        fold (`int`, *optional*, defaults to `1`): the official train/test fold (1-3) of UCF-101 / HMDB-51.
        zero_shot_draw (`int`, *optional*): which seeded seen/unseen class split to use.
        class_split (`dict` or `str`, *optional*): a fixed class split (``{"seen", "unseen"}``; for kinetics220
            ``{"test"}``), as a dict or a JSON file; names compare as natural phrases.
        kinetics400_classes (*optional*): kinetics220 only; the Kinetics-400 class names.
        video_split (`str`, *optional*, defaults to `"test"`): kinetics220 only; which K600 split's videos to use.
        revision, token: for the Hub.
        check_files (`bool`, *optional*, defaults to `True`): fail, naming them, when listed videos are missing.
        skip_missing (`bool`, *optional*): drop missing videos instead, with a warning giving the count.

    Returns:
        `datasets.Dataset` with ``video``, ``video_id``, ``label`` (natural-phrase `ClassLabel`), ``class_name``.
    """
    import datasets

    if name not in ACTION_DATASETS:
        raise ValueError(f"unknown action dataset {name!r}; use one of {ACTION_DATASETS}.")
    if fold not in (1, 2, 3):
        raise ValueError(f"fold ({fold}) must be 1, 2 or 3 (the official splits).")
    if zero_shot_draw is not None and class_split is not None and name != "kinetics220":
        raise ValueError("pass zero_shot_draw or class_split, not both.")
    zero_shot = (zero_shot_draw is not None or class_split is not None) and name != "kinetics220"
    zero_shot_splits = ("train", "test_seen", "test_unseen", "test_generalized")
    if name == "kinetics220":
        valid = ("test", "test_generalized", "validation")
    elif zero_shot:
        valid = zero_shot_splits
    elif name in ("ucf101-subset", "kinetics400", "kinetics600"):
        valid = ("train", "validation", "test")
    else:
        valid = ("train", "test")
    hub_splits = name == "hmdb51" and source is not None and not zero_shot  # the repository's own split names
    if split not in valid and not hub_splits:
        raise ValueError(f"split {split!r} is unknown for {name}{' with a zero-shot class split' if zero_shot else ''}; use one of {valid}.")
    if source is not None and name not in ("ucf101-subset", "hmdb51"):
        raise ValueError(f"{name} has no Hub repository with loadable videos; pass data_dir instead of source.")
    if name != "ucf101-subset" and data_dir is None and source is None:
        raise ValueError(f"{name} has no Hub repository with loadable videos; download the official release and pass data_dir.")
    root = Path(data_dir) if data_dir is not None else None
    videos_root = Path(video_dir) if video_dir is not None else root
    # Zero-shot splits partition every video of the dataset by class.
    wanted = None if zero_shot else split
    videos: list[dict] | None = None
    if name == "hmdb51" and source is not None:
        if zero_shot:
            raise ValueError("zero-shot splits of a Hub copy are not supported; load the official release with data_dir.")
        videos, labels, classes = _hub_action(source, split, revision, token)
        rows = [(v.get("path") or f"{name}-{i}", label) for i, (v, label) in enumerate(zip(videos, labels))]
    elif name == "ucf101":
        rows, classes = _ucf101(root, wanted, fold)
    elif name == "hmdb51":
        rows, classes = _hmdb51(root, wanted, fold)
    elif name in ("olympic_sports", "folder"):
        rows, classes = _folder(root, wanted)
    elif name in ("kinetics400", "kinetics600"):
        if zero_shot:
            raise ValueError(f"{name}: zero-shot class splits are defined on kinetics220.")
        labelled, classes = _kinetics_rows(root, split, videos_root)
        index = {c: i for i, c in enumerate(classes)}
        rows = [(path, index[label]) for path, label in labelled]
    elif name == "kinetics220":
        if video_split not in ("train", "validation", "test"):
            raise ValueError(f"video_split ({video_split!r}) must be 'train', 'validation' or 'test'.")
        rows, classes = _kinetics220(root, split, videos_root, kinetics400_classes, class_split, zero_shot_draw, video_split)
    else:
        rows, classes = _ucf101_subset(root, wanted, source, revision, token)
    if zero_shot:
        if class_split is not None:
            chosen = _load_class_split(class_split, ("seen", "unseen"))
            seen = _match_classes(chosen["seen"], classes, "class_split['seen']")
            unseen = _match_classes(chosen["unseen"], classes, "class_split['unseen']")
            if set(seen) & set(unseen):
                raise ValueError(f"class_split: {len(set(seen) & set(unseen))} classes are both seen and unseen.")
            if name in TRUZE_SIZES and (len(seen), len(unseen)) != TRUZE_SIZES[name]:
                logger.info("%s class split %d/%d differs from TruZe's %s.", name, len(seen), len(unseen), TRUZE_SIZES[name])
            draw_seed = [ZERO_SHOT_SEED, 999]
        else:
            seen, unseen = zero_shot_classes(len(classes), zero_shot_draw)
            draw_seed = [ZERO_SHOT_SEED, zero_shot_draw]
        unseen_set, seen_set = set(unseen), set(seen)
        seen_rows = [r for r in rows if r[1] in seen_set]
        held_out = np.random.default_rng([*draw_seed, 1]).random(len(seen_rows)) < 0.2
        parts = {
            "train": [r for r, h in zip(seen_rows, held_out) if not h],
            "test_seen": [r for r, h in zip(seen_rows, held_out) if h],
            "test_unseen": [r for r in rows if r[1] in unseen_set],
        }
        parts["test_generalized"] = parts["test_seen"] + parts["test_unseen"]
        rows = parts[split]
    if videos is None:
        keep = present_video_indices([path for path, _ in rows], f"{name} {split}", skip_missing, check_files, "listed videos", "check data_dir / video_dir")
        rows = [rows[i] for i in keep]
        videos = [{"path": path, "bytes": None} for path, _ in rows]
    names = [natural_class_name(c) for c in classes]
    features = datasets.Features(
        {
            "video": datasets.Video(decode=False),
            "video_id": datasets.Value("string"),
            "label": datasets.ClassLabel(names=names),
            "class_name": datasets.Value("string"),
        }
    )
    columns = {
        "video": videos,
        "video_id": [Path(path).stem for path, _ in rows],
        "label": [label for _, label in rows],
        "class_name": [names[label] for _, label in rows],
    }
    return datasets.Dataset.from_dict(columns, features=features)
