import json

import numpy as np
import pytest

from hf_vidcap.data import (
    ACTIONS,
    ShapesWorldConfig,
    caption_names_attributes,
    decode_video,
    generate_shapes_dataset,
    is_shapes_caption_grammatical,
    load_shapes_dataset,
    shapes_vocabulary,
)
from hf_vidcap.data.shapes import make_captions, render_clip, sample_attributes


def test_dataset_schema(shapes_dataset):
    assert set(shapes_dataset) == {"train", "validation", "test"}
    assert [len(shapes_dataset[s]) for s in ("train", "validation", "test")] == [24, 8, 8]
    row = shapes_dataset["train"][0]
    assert row["video"]["path"].endswith(".mp4")
    assert len(row["captions"]) >= 10
    assert shapes_dataset["train"].features["label"].names == list(ACTIONS)
    assert ACTIONS[row["label"]] == row["action"]
    assert {"color", "shape", "size", "second_shape", "second_color"} <= set(row)


def test_clips_are_real_videos_with_the_requested_frames(shapes_dataset):
    frames = decode_video(shapes_dataset["train"][0]["video"], 8)
    assert frames.shape == (8, 64, 64, 3) and frames.dtype == np.uint8
    assert frames.std(axis=0).max() > 0  # something moves or changes


def test_generation_is_deterministic(tmp_path, shapes_dir):
    config = ShapesWorldConfig(num_train=24, num_validation=8, num_test=8, seed=3)
    again = generate_shapes_dataset(tmp_path / "again", config)
    for split in ("train", "validation", "test"):
        assert (again / split / "metadata.jsonl").read_text() == (shapes_dir / split / "metadata.jsonl").read_text()
        # Every clip, byte for byte (lossy x264 was seen to differ between runs on a few clips in 1,000).
        for line in (again / split / "metadata.jsonl").read_text().splitlines():
            name = json.loads(line)["file_name"]
            assert (again / split / name).read_bytes() == (shapes_dir / split / name).read_bytes(), name
    other = generate_shapes_dataset(tmp_path / "other", ShapesWorldConfig(num_train=24, num_validation=8, num_test=8, seed=4))
    assert (other / "train" / "metadata.jsonl").read_text() != (shapes_dir / "train" / "metadata.jsonl").read_text()


def test_regeneration_is_skipped_for_the_same_config(shapes_dir):
    stamp = (shapes_dir / "train" / "metadata.jsonl").stat().st_mtime_ns
    generate_shapes_dataset(shapes_dir, ShapesWorldConfig(num_train=24, num_validation=8, num_test=8, seed=3))
    assert (shapes_dir / "train" / "metadata.jsonl").stat().st_mtime_ns == stamp


def test_a_world_with_other_settings_is_not_overwritten_silently(tmp_path):
    small = ShapesWorldConfig(num_train=2, num_validation=2, num_test=2, seed=3)
    generate_shapes_dataset(tmp_path, small)
    before = (tmp_path / "train" / "metadata.jsonl").read_text()
    with pytest.raises(ValueError, match=r"holds a shapes world generated with other settings \(seed: 3 there, 4 asked\); generate into another directory"):
        generate_shapes_dataset(tmp_path, ShapesWorldConfig(num_train=2, num_validation=2, num_test=2, seed=4))
    assert (tmp_path / "train" / "metadata.jsonl").read_text() == before  # untouched
    generate_shapes_dataset(tmp_path, ShapesWorldConfig(num_train=2, num_validation=2, num_test=2, seed=4), overwrite=True)
    assert (tmp_path / "train" / "metadata.jsonl").read_text() != before


def test_captions_vary_and_tokenize_without_unknown_words(shapes_dataset, tokenizer):
    captions = [c for refs in shapes_dataset["train"]["captions"] for c in refs]
    assert len(set(captions)) > 0.8 * len(captions)
    ids = tokenizer(captions, add_special_tokens=False)["input_ids"]
    assert all(tokenizer.unk_token_id not in row for row in ids)
    assert set(" ".join(captions).split()) <= set(shapes_vocabulary())
    # Every word of every class name occurs in the vocabulary (the zero-shot protocol compares them).
    assert {w for a in ACTIONS for w in a.split()} <= set(shapes_vocabulary())


def test_actions_change_what_is_rendered():
    rng = np.random.default_rng(0)
    attributes = sample_attributes(rng, 0.0)
    for action in ("moving left", "moving right"):
        frames = render_clip({**attributes, "action": action, "shape": "square"}, 8, 64, np.random.default_rng(1))
        xs = [np.nonzero(f.max(axis=(0, 2)) > 60)[0].mean() for f in frames]
        assert (xs[-1] < xs[0]) == (action == "moving left")


def test_caption_names_attributes():
    clip = {"color": "red", "shape": "circle", "action": "bouncing"}
    assert caption_names_attributes("a red circle bounces up and down", clip) == {"color": True, "shape": True, "action": True}
    # A hedge names no action; naming two actions is not naming the right one.
    assert not caption_names_attributes("a red circle moves", clip)["action"]
    assert not caption_names_attributes("a red circle bounces and moves up", clip)["action"]


def test_the_caption_grammar_accepts_every_generated_caption_and_sees_word_order():
    rng = np.random.default_rng(3)
    for _ in range(300):
        attributes = sample_attributes(rng, second_shape_prob=0.5)
        for caption in make_captions(attributes, 12, rng, action_caption_prob=0.4):
            assert is_shapes_caption_grammatical(caption), caption
    assert is_shapes_caption_grammatical("A  Red circle moves left")  # case and spacing do not matter
    assert is_shapes_caption_grammatical("there is a small green cross rising while a blue square stays still")
    for broken in (
        "a red circle moves left left",  # repetition (CLS-R's degenerate captions)
        "red a circle moves left",  # word order
        "a red circle moves",  # a truncated verb phrase
        "a circle red moves left",
        "a red circle moving left",  # a participle without "is"
        "",
    ):
        assert not is_shapes_caption_grammatical(broken), broken


def test_bad_world_configs():
    with pytest.raises(ValueError, match="num_captions"):
        ShapesWorldConfig(num_captions=3)
    with pytest.raises(ValueError, match="num_frames"):
        ShapesWorldConfig(num_frames=1)


def test_loading_an_incomplete_directory_says_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="generate_shapes_dataset"):
        load_shapes_dataset(tmp_path)


@pytest.fixture(scope="module")
def zero_shot_world(tmp_path_factory):
    config = ShapesWorldConfig(num_train=40, num_validation=8, num_test=40, seed=5, action_caption_prob=0.3, near_duplicate_prob=0.5)
    return load_shapes_dataset(generate_shapes_dataset(tmp_path_factory.mktemp("zero_shot"), config))


def test_generic_captions_name_the_action_about_as_often_as_asked(zero_shot_world):
    train = zero_shot_world["train"]
    named = [
        sum(caption_names_attributes(c, row)["action"] for c in row["captions"]) for row in train
    ]
    assert named == train["names_action"]
    fraction = sum(named) / sum(len(c) for c in train["captions"])
    assert 0.2 < fraction < 0.45  # asked for 0.3 (plus the guaranteed one per clip)
    assert min(named) >= 1  # every clip keeps one caption naming its action
    # Generic captions still give colour and shape.
    for row in train.select(range(10)):
        assert all(caption_names_attributes(c, row)["color"] and caption_names_attributes(c, row)["shape"] for c in row["captions"])


def test_near_duplicates_differ_in_exactly_one_attribute(zero_shot_world):
    rows = {row["video_id"]: row for split in zero_shot_world.values() for row in split}
    twins = [row for row in rows.values() if row["differs_in"]]
    assert len(twins) >= 20 and {t["differs_in"] for t in twins} == {"color", "shape", "size", "action"}
    for twin in twins:
        original = rows[twin["pair_id"]]
        assert original["pair_id"] == twin["video_id"]
        changed = [k for k in ("color", "shape", "size", "action") if original[k] != twin[k]]
        assert changed == [twin["differs_in"]]
        a, b = decode_video(original["video"], 8), decode_video(twin["video"], 8)
        assert not np.array_equal(a, b)
        if twin["differs_in"] == "color":
            # Same placement and motion: the same pixels are covered by the actor in every frame.
            background = np.array([18, 18, 22])
            np.testing.assert_array_equal((a != background).any(-1), (b != background).any(-1))


def test_base_novel_split(zero_shot_world):
    from hf_vidcap.data import BASE_ACTIONS, NOVEL_ACTIONS, split_base_novel

    splits = split_base_novel(zero_shot_world)
    novel = {ACTIONS.index(a) for a in NOVEL_ACTIONS}
    assert set(splits) == {"train", "validation", "test_seen", "test_unseen"}
    for name in ("train", "validation", "test_seen"):
        assert not novel & set(splits[name]["label"])
    assert set(splits["test_unseen"]["label"]) <= novel and len(splits["test_unseen"]) > 0
    assert len(splits["test_seen"]) + len(splits["test_unseen"]) == len(zero_shot_world["test"])
    # Every word of every class name occurs in the training captions (ReGen compares captions with class names).
    words = {w for refs in zero_shot_world["train"]["captions"] for c in refs for w in c.split()}
    assert all(set(name.split()) <= words for name in BASE_ACTIONS + NOVEL_ACTIONS)
    with pytest.raises(ValueError, match="non-empty proper subset"):
        split_base_novel(zero_shot_world, novel_actions=("flying",))
