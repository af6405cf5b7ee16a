"""Reward-driven tuning on a dataset without reference captions (ReGen's setting: video + label), and the errors
that name what needs the missing captions."""

import pytest
import torch
from helpers import make_args, make_model_and_processor

from hf_vidcap.evaluation import zero_shot_metrics
from hf_vidcap.rewards import get_cider_d_reward, get_class_reward
from hf_vidcap.testing import tiny_clip_embedder
from hf_vidcap.trainer import VideoSCSTTrainer


@pytest.fixture(scope="module")
def action_sets(shapes_dataset):
    """The shapes world as an action-recognition set: video, label (ClassLabel of the 8 actions), no captions."""
    return {split: shapes_dataset[split].remove_columns("captions") for split in ("train", "validation")}


@pytest.fixture(scope="module")
def cls_r(action_sets):
    names = action_sets["train"].features["label"].names
    return get_class_reward(tiny_clip_embedder(), names)


def test_rl_trains_on_an_action_dataset_without_captions(tokenizer, tmp_path, action_sets, cls_r):
    model, processor = make_model_and_processor(tokenizer)
    before = {k: v.clone() for k, v in model.named_parameters()}
    # ReGen eq. 3: the top beam against the greedy caption, rewarded by CLS-R on the label column.
    args = make_args(tmp_path, rollout="beam", baseline="beam_vs_greedy", num_generations=1, num_beams=2)

    names = action_sets["train"].features["label"].names
    zero_shot = zero_shot_metrics(tiny_clip_embedder(), names, ks=(1, 5))

    def metrics(captions, columns):  # ReGen's zero-shot accuracy, plus a user's own count of the rows
        return {**zero_shot(captions, columns), "rows": float(len(captions))}

    trainer = VideoSCSTTrainer(
        model, [cls_r], args, action_sets["train"], action_sets["validation"], processor, compute_metrics=metrics
    )
    trainer.train()
    assert trainer.state.global_step == 2
    logged = [e for e in trainer.state.log_history if "rewards/cls_r/mean" in e]
    assert logged and all(e["rewards/cls_r/mean"] <= 0 for e in logged)  # log-probabilities
    assert any(not torch.equal(before[k], v) for k, v in model.named_parameters())
    scores = trainer.evaluate()
    assert scores["eval_rows"] == len(action_sets["validation"]) and "eval_cider_d" not in scores
    assert 0.0 <= scores["eval_top1_accuracy"] <= scores["eval_top5_accuracy"] <= 100.0


@pytest.mark.parametrize(
    "setting, named",
    [({"xe_warmup_steps": 1}, "xe_warmup_steps=1"), ({"xe_weight": 0.5}, "xe_weight=0.5"), ({"teacher_forcing_weight": 1.0}, "teacher_forcing_weight=1.0")],
)
def test_what_needs_references_names_the_missing_column(tokenizer, tmp_path, action_sets, cls_r, setting, named):
    model, processor = make_model_and_processor(tokenizer)
    args = make_args(tmp_path, **{"max_steps": 3, **setting})
    with pytest.raises(ValueError, match=rf"{named} need\(s\) reference captions, but train_dataset has no 'captions' column"):
        VideoSCSTTrainer(model, [cls_r], args, action_sets["train"], None, processor)


def test_a_reward_that_reads_missing_columns_is_named(tokenizer, tmp_path, shapes_dataset, action_sets, cls_r):
    model, processor = make_model_and_processor(tokenizer)
    cider = get_cider_d_reward(shapes_dataset["train"]["captions"])
    with pytest.raises(ValueError, match="reward 'cider_d' need\\(s\\) reference captions"):
        VideoSCSTTrainer(model, [cls_r, cider], make_args(tmp_path), action_sets["train"], None, processor)
    no_label = shapes_dataset["train"].remove_columns("label")
    with pytest.raises(ValueError, match=r"reward 'cls_r' reads the column\(s\) \['label'\], which train_dataset lacks"):
        VideoSCSTTrainer(model, [cls_r], make_args(tmp_path), no_label, None, processor)


def test_evaluation_without_captions_needs_compute_metrics(tokenizer, tmp_path, shapes_dataset, action_sets, cls_r):
    model, processor = make_model_and_processor(tokenizer)
    with pytest.raises(ValueError, match="evaluation scores captions against the 'captions' column, which eval_dataset lacks"):
        VideoSCSTTrainer(model, [cls_r], make_args(tmp_path), action_sets["train"], action_sets["validation"], processor)
    # Built with a captioned eval set, then asked to evaluate one without captions: the same message at evaluate.
    trainer = VideoSCSTTrainer(model, [cls_r], make_args(tmp_path), shapes_dataset["train"], shapes_dataset["validation"], processor)
    with pytest.raises(ValueError, match="the eval dataset has no 'captions' column .* pass compute_metrics"):
        trainer.evaluate(action_sets["validation"])
    assert "eval_cider_d" in trainer.evaluate()


def test_reference_rewards_declare_their_columns(tmp_path):
    from hf_vidcap.rewards import get_bleu_reward, get_clip_score_reward

    assert get_cider_d_reward([["a red circle"]], references_column="refs").required_columns == ("refs",)
    assert get_bleu_reward().required_columns == ("captions",)
    embedder = tiny_clip_embedder()
    assert get_clip_score_reward(embedder).required_columns == ()
    assert get_clip_score_reward(embedder, use_references=True).required_columns == ("captions",)
    assert get_class_reward(embedder, ["a", "b"], label_column="y").required_columns == ("y",)
