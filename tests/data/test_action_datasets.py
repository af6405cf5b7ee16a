"""Action-dataset loaders on fixture copies the test writes in each source's layout (real video files)."""

import shutil
import tarfile

import numpy as np
import pytest

from hf_vidcap.data import decode_video
from hf_vidcap.data.action_datasets import load_action_dataset, natural_class_name, zero_shot_classes
from hf_vidcap.data.shapes import write_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    write_video(path, np.random.default_rng(0).integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    return path


UCF_CLASSES = ["ApplyEyeMakeup", "Basketball", "YoYo", "TaiChi"]


@pytest.fixture(scope="module")
def ucf101_dir(tmp_path_factory, clip):
    root = tmp_path_factory.mktemp("ucf101")
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\n" for i, c in enumerate(UCF_CLASSES)))
    for fold in (1, 2, 3):
        train, test = [], []
        for i, name in enumerate(UCF_CLASSES):
            for group in (1, 2, 3):
                relative = f"{name}/v_{name}_g0{group}_c01.avi"
                (train if group != fold else test).append(relative)
        (lists / f"trainlist0{fold}.txt").write_text("".join(f"{r} {UCF_CLASSES.index(r.split('/')[0]) + 1}\n" for r in train))
        (lists / f"testlist0{fold}.txt").write_text("".join(f"{r}\n" for r in test))
    for name in UCF_CLASSES:
        (root / "UCF-101" / name).mkdir(parents=True)
        for group in (1, 2, 3):
            shutil.copy(clip, root / "UCF-101" / name / f"v_{name}_g0{group}_c01.avi")
    return root


def test_ucf101_official_folds(ucf101_dir):
    train = load_action_dataset("ucf101", "train", data_dir=ucf101_dir, fold=1)
    test = load_action_dataset("ucf101", "test", data_dir=ucf101_dir, fold=1)
    assert len(train) == 8 and len(test) == 4
    assert train.features["label"].names == ["apply eye makeup", "basketball", "yo yo", "tai chi"]
    assert set(test["video_id"]) == {f"v_{c}_g01_c01" for c in UCF_CLASSES}
    row = test[2]
    assert row["class_name"] == "yo yo" and row["label"] == 2 and row["video"]["path"].endswith("YoYo/v_YoYo_g01_c01.avi")
    assert decode_video(row["video"], 4).shape == (4, 32, 32, 3)
    fold2 = load_action_dataset("ucf101", "test", data_dir=ucf101_dir, fold=2)
    assert {v.split("_g")[1][:2] for v in fold2["video_id"]} == {"02"}


def test_missing_files_and_bad_arguments_are_named(ucf101_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown action dataset 'kinetics'; use one of"):
        load_action_dataset("kinetics")
    with pytest.raises(ValueError, match="split 'val' is unknown for ucf101"):
        load_action_dataset("ucf101", "val", data_dir=ucf101_dir)
    with pytest.raises(ValueError, match="fold \\(4\\) must be 1, 2 or 3"):
        load_action_dataset("ucf101", data_dir=ucf101_dir, fold=4)
    with pytest.raises(ValueError, match="pass data_dir"):
        load_action_dataset("hmdb51")
    with pytest.raises(FileNotFoundError, match="classInd.txt is missing"):
        load_action_dataset("ucf101", data_dir=tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(ucf101_dir, broken)
    (broken / "UCF-101" / "YoYo" / "v_YoYo_g02_c01.avi").unlink()
    with pytest.raises(FileNotFoundError, match="1 listed videos are missing, e.g. \\[.*v_YoYo_g02_c01.avi"):
        load_action_dataset("ucf101", "train", data_dir=broken)


def test_hmdb51_official_splits(tmp_path, clip):
    splits = tmp_path / "testTrainMulti_7030_splits"
    splits.mkdir()
    for name in ("brush_hair", "shoot_ball", "ride_bike"):
        (tmp_path / name).mkdir()
        lines = []
        for k, code in enumerate((1, 1, 2, 0)):
            video = f"{name}_clip{k}.avi"
            shutil.copy(clip, tmp_path / name / video)
            lines.append(f"{video} {code} ")
        for fold in (1, 2, 3):
            (splits / f"{name}_test_split{fold}.txt").write_text("\n".join(lines) + "\n")
    train = load_action_dataset("hmdb51", "train", data_dir=tmp_path)
    test = load_action_dataset("hmdb51", "test", data_dir=tmp_path)
    assert len(train) == 6 and len(test) == 3  # code 0 (unused) appears in neither
    assert train.features["label"].names == ["brush hair", "ride bike", "shoot ball"]
    assert sorted(test["video_id"]) == ["brush_hair_clip2", "ride_bike_clip2", "shoot_ball_clip2"]


def test_ucf101_subset_from_its_hub_archive_layout(tmp_path, clip):
    source = tmp_path / "src" / "UCF101_subset"
    counts = {"train": 3, "val": 1, "test": 2}
    for part, count in counts.items():
        for name in ("BabyCrawling", "BasketballDunk"):
            (source / part / name).mkdir(parents=True)
            for k in range(count):
                shutil.copy(clip, source / part / name / f"v_{name}_g{k:02d}_c01.avi")
    archive = tmp_path / "UCF101_subset.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="UCF101_subset")
    train = load_action_dataset("ucf101-subset", "train", data_dir=archive)
    validation = load_action_dataset("ucf101-subset", "validation", data_dir=archive)
    assert len(train) == 6 and len(validation) == 2
    assert train.features["label"].names == ["baby crawling", "basketball dunk"]
    assert decode_video(train[0]["video"], 4).shape == (4, 32, 32, 3)


def test_zero_shot_draws_partition_the_classes(ucf101_dir):
    seen, unseen = zero_shot_classes(101, 0)
    assert (len(seen), len(unseen)) == (51, 50) and not set(seen) & set(unseen)
    assert zero_shot_classes(101, 0) == (seen, unseen)  # seeded
    assert len({tuple(zero_shot_classes(101, k)[1]) for k in range(10)}) == 10  # ten different draws
    parts = {s: load_action_dataset("ucf101", s, data_dir=ucf101_dir, zero_shot_draw=3) for s in ("train", "test_seen", "test_unseen", "test_generalized")}
    seen, unseen = zero_shot_classes(4, 3)
    assert set(parts["test_unseen"]["label"]) == set(unseen) and len(parts["test_unseen"]) == 3 * len(unseen)
    assert set(parts["train"]["label"]) | set(parts["test_seen"]["label"]) <= set(seen)
    assert len(parts["train"]) + len(parts["test_seen"]) == 3 * len(seen)
    assert sorted(parts["test_generalized"]["video_id"]) == sorted(list(parts["test_seen"]["video_id"]) + list(parts["test_unseen"]["video_id"]))
    with pytest.raises(ValueError, match="split 'test' is unknown for ucf101 with zero_shot_draw"):
        load_action_dataset("ucf101", "test", data_dir=ucf101_dir, zero_shot_draw=0)


def test_natural_class_names():
    assert natural_class_name("ApplyEyeMakeup") == "apply eye makeup"
    assert natural_class_name("brush_hair") == "brush hair"
    assert natural_class_name("YoYo") == "yo yo"
