"""Resuming from a checkpoint, and best-checkpoint selection by a captioning metric."""

import pytest
import torch
from safetensors.torch import load_file

from helpers import RecordingReward, make_args, make_model_and_processor
from hf_vidcap.trainer import VideoSCSTTrainer


def _losses(trainer):
    return {entry["step"]: entry["loss"] for entry in trainer.state.log_history if "loss" in entry}


def test_resumed_run_reproduces_the_uninterrupted_losses(tmp_path, tokenizer, shapes_dataset):
    kwargs = dict(
        max_steps=5, save_strategy="steps", save_steps=3, xe_warmup_steps=1, xe_learning_rate=5e-3, learning_rate=1e-3,
        baseline="leave_one_out", scale_rewards="group", entropy_coef=0.01,
    )
    model, processor = make_model_and_processor(tokenizer)
    full = VideoSCSTTrainer(model, RecordingReward(), make_args(tmp_path / "full", **kwargs), train_dataset=shapes_dataset["train"], processing_class=processor)
    full.train()

    # A fresh process would build a model from another seed: the checkpoint must restore everything.
    model, processor = make_model_and_processor(tokenizer, seed=123)
    resumed = VideoSCSTTrainer(model, RecordingReward(), make_args(tmp_path / "full", **kwargs), train_dataset=shapes_dataset["train"], processing_class=processor)
    resumed.train(resume_from_checkpoint=str(tmp_path / "full" / "checkpoint-3"))

    expected, got = _losses(full), _losses(resumed)
    assert sorted(got) == [1, 2, 3, 4, 5]  # 1-3 come from the checkpoint's trainer state
    assert got[4] == pytest.approx(expected[4], rel=1e-6) and got[5] == pytest.approx(expected[5], rel=1e-6)
    assert got[4] != 0.0  # the comparison is not between two trivially-zero losses


def test_best_checkpoint_by_cider_is_loaded_at_the_end(tmp_path, tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)
    args = make_args(
        tmp_path, max_steps=4, xe_warmup_steps=4, learning_rate=2e-2, eval_strategy="steps", eval_steps=1,
        save_strategy="steps", save_steps=1, metric_for_best_model="cider_d", load_best_model_at_end=True,
        per_device_eval_batch_size=8,
    )
    trainer = VideoSCSTTrainer(
        model, RecordingReward(), args, train_dataset=shapes_dataset["train"],
        eval_dataset=shapes_dataset["validation"], processing_class=processor,
    )
    trainer.train()
    evals = [(e["step"], e["eval_cider_d"]) for e in trainer.state.log_history if "eval_cider_d" in e]
    assert len(evals) == 4 and len({score for _, score in evals}) > 1  # the metric moved
    best_step, best = max(evals, key=lambda item: (item[1], -item[0]))  # ties: the first one
    assert trainer.state.best_metric == pytest.approx(best)
    assert trainer.state.best_model_checkpoint.endswith(f"checkpoint-{best_step}")
    saved = load_file(f"{trainer.state.best_model_checkpoint}/model.safetensors")
    for name, value in model.state_dict().items():
        if name in saved:
            torch.testing.assert_close(value, saved[name])


def test_online_reward_state_is_checkpointed_and_resumed(tmp_path, tokenizer, shapes_dataset):
    from hf_vidcap.rewards import get_discriminator_reward
    from hf_vidcap.testing import tiny_clip_embedder

    kwargs = dict(max_steps=4, save_strategy="steps", save_steps=2, baseline="leave_one_out")

    def run(resume=None, seed=0):
        model, processor = make_model_and_processor(tokenizer, seed=seed)
        torch.manual_seed(seed)
        discriminator = get_discriminator_reward(tiny_clip_embedder(), hidden_size=16, learning_rate=1e-2)
        trainer = VideoSCSTTrainer(model, discriminator, make_args(tmp_path / "run", **kwargs), train_dataset=shapes_dataset["train"], processing_class=processor)
        trainer.train(resume_from_checkpoint=resume)
        return trainer, discriminator

    full, full_discriminator = run()
    assert (tmp_path / "run" / "checkpoint-2" / "reward_states_rank0.pt").exists()
    resumed, discriminator = run(resume=str(tmp_path / "run" / "checkpoint-2"), seed=7)
    expected, got = _losses(full), _losses(resumed)
    assert got[3] == pytest.approx(expected[3], rel=1e-5) and got[4] == pytest.approx(expected[4], rel=1e-5)
    for a, b in zip(full_discriminator.discriminator.parameters(), discriminator.discriminator.parameters()):
        torch.testing.assert_close(a, b)
