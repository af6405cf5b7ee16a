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
  ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` (1 = train, 2 = test, 0 = unused).

Splits: ``"train"`` / ``"test"`` of an official ``fold`` (1-3), or, with ``zero_shot_draw=k``, the 50/50 seen/unseen
class split of draw k (k = 0..9, seeded; CLASTER / Xu et al. report the mean over 10 draws): ``"train"`` = the seen
classes' videos (80%), ``"test_seen"`` = the other 20% of them, ``"test_unseen"`` = every video of the unseen
classes, ``"test_generalized"`` = test_seen + test_unseen.
"""

from __future__ import annotations

import os
import re
import tarfile
from pathlib import Path

import numpy as np

ACTION_DATASETS = ("ucf101", "ucf101-subset", "hmdb51")
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


def _ucf101_subset(data_dir: Path | None, split: str) -> tuple[list[tuple[str, int]], list[str]]:
    if data_dir is None:
        from huggingface_hub import hf_hub_download

        data_dir = Path(hf_hub_download(UCF101_SUBSET_REPO, "UCF101_subset.tar.gz", repo_type="dataset"))
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


def load_action_dataset(
    name: str,
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    fold: int = 1,
    zero_shot_draw: int | None = None,
    check_files: bool = True,
):
    """Load an action-recognition split in hf_vidcap's schema (see the module docstring for sources and splits).

    Args:
        name (`str`): ``"ucf101"``, ``"ucf101-subset"`` or ``"hmdb51"``.
        split (`str`): ``"train"`` or ``"test"`` (``"validation"`` for ucf101-subset); with ``zero_shot_draw``:
            ``"train"``, ``"test_seen"``, ``"test_unseen"`` or ``"test_generalized"``.
        data_dir (`str`, *optional*): the local copy (required for ucf101 and hmdb51).
        fold (`int`, *optional*, defaults to `1`): the official train/test fold (1-3).
        zero_shot_draw (`int`, *optional*): which seeded 50/50 seen/unseen class split to use.
        check_files (`bool`, *optional*, defaults to `True`): fail, naming them, when listed videos are missing.

    Returns:
        `datasets.Dataset` with ``video``, ``video_id``, ``label`` (natural-phrase `ClassLabel`), ``class_name``.
    """
    import datasets

    if name not in ACTION_DATASETS:
        raise ValueError(f"unknown action dataset {name!r}; use one of {ACTION_DATASETS}.")
    if fold not in (1, 2, 3):
        raise ValueError(f"fold ({fold}) must be 1, 2 or 3 (the official splits).")
    zero_shot_splits = ("train", "test_seen", "test_unseen", "test_generalized")
    official = ("train", "test", "validation", "val") if name == "ucf101-subset" else ("train", "test")
    valid = zero_shot_splits if zero_shot_draw is not None else official
    if split not in valid:
        raise ValueError(f"split {split!r} is unknown for {name}{' with zero_shot_draw' if zero_shot_draw is not None else ''}; use one of {valid}.")
    if name in ("ucf101", "hmdb51") and data_dir is None:
        raise ValueError(f"{name} has no Hub repository with loadable videos; download the official release and pass data_dir.")
    root = Path(data_dir) if data_dir is not None else None
    # Zero-shot draws partition every video of the dataset by class.
    wanted = None if zero_shot_draw is not None else split
    if name == "ucf101":
        rows, classes = _ucf101(root, wanted, fold)
    elif name == "hmdb51":
        rows, classes = _hmdb51(root, wanted, fold)
    else:
        rows, classes = _ucf101_subset(root, wanted)
    if zero_shot_draw is not None:
        seen, unseen = zero_shot_classes(len(classes), zero_shot_draw)
        unseen_set = set(unseen)
        seen_rows = [r for r in rows if r[1] not in unseen_set]
        held_out = np.random.default_rng([ZERO_SHOT_SEED, zero_shot_draw, 1]).random(len(seen_rows)) < 0.2
        parts = {
            "train": [r for r, h in zip(seen_rows, held_out) if not h],
            "test_seen": [r for r, h in zip(seen_rows, held_out) if h],
            "test_unseen": [r for r in rows if r[1] in unseen_set],
        }
        parts["test_generalized"] = parts["test_seen"] + parts["test_unseen"]
        rows = parts[split]
    if check_files:
        missing = [path for path, _ in rows if not os.path.exists(path)]
        if missing:
            raise FileNotFoundError(f"{len(missing)} listed videos are missing, e.g. {missing[:3]}; check data_dir.")
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
        "video": [{"path": path, "bytes": None} for path, _ in rows],
        "video_id": [Path(path).stem for path, _ in rows],
        "label": [label for _, label in rows],
        "class_name": [names[label] for _, label in rows],
    }
    return datasets.Dataset.from_dict(columns, features=features)
