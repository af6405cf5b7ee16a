"""Action-dataset loaders on fixture copies the test writes in each source's layout (real video files)."""

import csv
import json
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
    with pytest.raises(ValueError, match="split 'test' is unknown for ucf101 with a zero-shot class split"):
        load_action_dataset("ucf101", "test", data_dir=ucf101_dir, zero_shot_draw=0)


def test_natural_class_names():
    assert natural_class_name("ApplyEyeMakeup") == "apply eye makeup"
    assert natural_class_name("brush_hair") == "brush hair"
    assert natural_class_name("YoYo") == "yo yo"


def test_fixed_class_split_such_as_truze(ucf101_dir, tmp_path):
    split_file = tmp_path / "truze_ucf.json"
    split_file.write_text(json.dumps({"seen": ["ApplyEyeMakeup", "basketball", "Tai Chi"], "unseen": ["YoYo"]}))
    unseen = load_action_dataset("ucf101", "test_unseen", data_dir=ucf101_dir, class_split=split_file)
    assert set(unseen["class_name"]) == {"yo yo"} and len(unseen) == 3
    train = load_action_dataset("ucf101", "train", data_dir=ucf101_dir, class_split=str(split_file))
    assert "yo yo" not in set(train["class_name"]) and train.features["label"].num_classes == 4
    with pytest.raises(ValueError, match="class_split\\['unseen'\\]: 1 classes are not in the dataset, e.g. \\['Juggling'\\]"):
        load_action_dataset("ucf101", "train", data_dir=ucf101_dir, class_split={"seen": ["YoYo"], "unseen": ["Juggling"]})
    with pytest.raises(ValueError, match="keys \\('seen', 'unseen'\\)"):
        load_action_dataset("ucf101", "train", data_dir=ucf101_dir, class_split={"train": []})
    with pytest.raises(ValueError, match="1 classes are both seen and unseen"):
        load_action_dataset("ucf101", "train", data_dir=ucf101_dir, class_split={"seen": ["YoYo"], "unseen": ["yo yo"]})


def test_olympic_sports_folder_layout_and_skip_missing(tmp_path, clip):
    classes = ["basketball_layup", "bowling", "clean_and_jerk", "discus_throw"]
    for part in ("train", "test"):
        for name in classes:
            (tmp_path / part / name).mkdir(parents=True)
            for k in range(2 if part == "train" else 1):
                shutil.copy(clip, tmp_path / part / name / f"{name}_{part}{k}.mp4")
    train = load_action_dataset("olympic_sports", "train", data_dir=tmp_path)
    test = load_action_dataset("olympic_sports", "test", data_dir=tmp_path)
    assert (len(train), len(test)) == (8, 4) and train.features["label"].names == ["basketball layup", "bowling", "clean and jerk", "discus throw"]
    unseen = load_action_dataset("olympic_sports", "test_unseen", data_dir=tmp_path, zero_shot_draw=1)
    assert len(unseen) == 3 * 2  # both folders' videos of the 2 unseen classes
    with pytest.raises(ValueError, match="no train/ and test/ folders"):
        load_action_dataset("folder", "train", data_dir=tmp_path / "train")
    assert len(load_action_dataset("folder", "test_generalized", data_dir=tmp_path / "train", zero_shot_draw=0)) > 0


def _kinetics_fixture(root, clip, classes_by_split, video_layout="nested"):
    (root / "annotations").mkdir(parents=True)
    for split, classes in classes_by_split.items():
        rows = []
        for c, label in enumerate(classes):
            for k in range(2):
                youtube_id, start = f"yt{split[:2]}{c:03d}{k}", 10 * k
                rows.append([label, youtube_id, start, start + 10, split])
                folder = root / split / label if video_layout == "nested" else root / "clips"
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copy(clip, folder / f"{youtube_id}_{start:06d}_{start + 10:06d}.mp4")
        with open(root / "annotations" / f"{split}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            writer.writerows(rows)


def test_kinetics_official_csvs(tmp_path, clip):
    _kinetics_fixture(tmp_path, clip, {"train": ["abseiling", "air drumming"], "validate": ["abseiling", "air drumming"]}, video_layout="flat")
    train = load_action_dataset("kinetics400", "train", data_dir=tmp_path)
    assert len(train) == 4 and train.features["label"].names == ["abseiling", "air drumming"]
    assert train[0]["video_id"] == "yttr0000_000000_000010" and decode_video(train[0]["video"], 3).shape == (3, 32, 32, 3)
    assert len(load_action_dataset("kinetics400", "validation", data_dir=tmp_path)) == 4
    with pytest.raises(FileNotFoundError, match="no test.csv"):
        load_action_dataset("kinetics400", "test", data_dir=tmp_path)


def test_kinetics220_settings(tmp_path, clip):
    k400 = [f"old action {i}" for i in range(6)]
    novel = [f"new action {i:03d}" for i in range(200)]
    _kinetics_fixture(tmp_path, clip, {"test": k400[:2] + novel})
    with pytest.warns(UserWarning, match="200 Kinetics-600 classes are not Kinetics-400 class names \\(ER-ZSAR lists 220\\)"):
        test = load_action_dataset("kinetics220", "test", data_dir=tmp_path, kinetics400_classes=k400, zero_shot_draw=1)
    assert test.features["label"].num_classes == 160 and len(test) == 2 * 160  # 1-vs-160
    assert set(test["class_name"]) <= set(novel)
    with pytest.warns(UserWarning):
        generalized = load_action_dataset("kinetics220", "test_generalized", data_dir=tmp_path, kinetics400_classes=k400, zero_shot_draw=1)
        validation = load_action_dataset("kinetics220", "validation", data_dir=tmp_path, kinetics400_classes=k400, zero_shot_draw=1)
        other_draw = load_action_dataset("kinetics220", "test", data_dir=tmp_path, kinetics400_classes=k400, zero_shot_draw=2)
    assert generalized.features["label"].num_classes == 6 + 200  # 1-vs-(K400 + novel): 620 with the real lists
    assert generalized.features["label"].names[:6] == k400  # K400's classes first
    assert generalized["video_id"] == test["video_id"] and generalized["class_name"] == test["class_name"]
    assert validation.features["label"].num_classes == 40 and not set(validation["class_name"]) & set(test["class_name"])
    assert set(other_draw["class_name"]) != set(test["class_name"])
    # ER-ZSAR's own lists, passed as class_split, fix the test classes exactly (no warning).
    chosen = novel[:160]
    fixed = load_action_dataset("kinetics220", "test", data_dir=tmp_path, kinetics400_classes=k400, class_split={"test": chosen})
    assert fixed.features["label"].names == chosen
    k400_file = tmp_path / "k400_classes.txt"
    k400_file.write_text("\n".join(k400))
    same = load_action_dataset("kinetics220", "test", data_dir=tmp_path, kinetics400_classes=k400_file, class_split={"test": chosen})
    assert same["video_id"] == fixed["video_id"]
    with pytest.raises(ValueError, match="needs kinetics400_classes"):
        load_action_dataset("kinetics220", "test", data_dir=tmp_path)


def test_hmdb51_from_a_hub_parquet_copy(tmp_path, clip):
    import datasets

    names = ["brush_hair", "cartwheel", "catch"]
    data = clip.read_bytes()
    features = datasets.Features({"video": datasets.Video(decode=False), "label": datasets.ClassLabel(names=names)})
    for split, count in (("train", 6), ("test", 3)):
        rows = {"video": [{"bytes": data, "path": f"{names[i % 3]}_{split}{i}.avi"} for i in range(count)], "label": [i % 3 for i in range(count)]}
        (tmp_path / "repo" / "data").mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / "repo" / "data" / f"{split}-00000-of-00001.parquet"))
    test = load_action_dataset("hmdb51", "test", source=str(tmp_path / "repo"))
    assert len(test) == 3 and test.features["label"].names == ["brush hair", "cartwheel", "catch"]
    assert test[1]["class_name"] == "cartwheel" and test[1]["video_id"] == "cartwheel_test1"
    assert test[1]["video"]["bytes"] == data
    np.testing.assert_array_equal(decode_video(test[1]["video"], 3), decode_video(str(clip), 3))
    with pytest.raises(ValueError, match="has the splits \\['train', 'test'\\], not 'validation'"):
        load_action_dataset("hmdb51", "validation", source=str(tmp_path / "repo"))
