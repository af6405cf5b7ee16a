"""Resuming from a checkpoint, and best-checkpoint selection by a captioning metric."""

import pytest
import torch
from helpers import RecordingReward, make_args, make_model_and_processor
from safetensors.torch import load_file

from hf_vidcap.trainer import VideoSCSTTrainer


def _losses(trainer):
    return {entry["step"]: entry["loss"] for entry in trainer.state.log_history if "loss" in entry}


@pytest.mark.parametrize("frame_sampling", ["uniform", "random_segment", "headtail"])
def test_resumed_run_reproduces_the_uninterrupted_losses(tmp_path, tokenizer, shapes_dataset, frame_sampling):
    # The random sampling modes draw frames from the collator's own generator: its state is in the checkpoint. With 8
    # videos (2 steps per epoch) the checkpoint at step 3 lies in the second epoch, whose first epoch the resumed run
    # does not replay, so the generator cannot catch up by itself.
    train = shapes_dataset["train"].select(range(8))
    kwargs = dict(
        max_steps=5, save_strategy="steps", save_steps=3, xe_warmup_steps=1, xe_learning_rate=5e-3, learning_rate=1e-3,
        baseline="leave_one_out", scale_rewards="group", entropy_coef=0.01, frame_sampling=frame_sampling,
        num_frames=4,  # of the clips' 8, so that the random modes have a choice to make
    )
    model, processor = make_model_and_processor(tokenizer)
    full = VideoSCSTTrainer(model, RecordingReward(), make_args(tmp_path / "full", **kwargs), train_dataset=train, processing_class=processor)
    full.train()

    # A fresh process would build a model from another seed: the checkpoint must restore everything.
    model, processor = make_model_and_processor(tokenizer, seed=123)
    resumed = VideoSCSTTrainer(model, RecordingReward(), make_args(tmp_path / "full", **kwargs), train_dataset=train, processing_class=processor)
    resumed.train(resume_from_checkpoint=str(tmp_path / "full" / "checkpoint-3"))

    expected, got = _losses(full), _losses(resumed)
    assert sorted(got) == [1, 2, 3, 4, 5]  # 1-3 come from the checkpoint's trainer state
    # Bitwise: the random modes' frames change these losses only in the 7th digit (a tiny random model).
    assert got[4] == expected[4] and got[5] == expected[5]
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


def _train_with_checkpoints(tmp_path, tokenizer, shapes_dataset, **kwargs):
    model, processor = make_model_and_processor(tokenizer)
    args = make_args(tmp_path / "run", **{"max_steps": 4, "save_strategy": "steps", "save_steps": 2, **kwargs})
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    return args


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda c: (c / "trainer_state.json").unlink(), "trainer_state.json is missing"),
        (lambda c: (c / "optimizer.pt").write_bytes((c / "optimizer.pt").read_bytes()[:100]), "optimizer.pt is truncated"),
        (lambda c: (c / "model.safetensors").write_bytes((c / "model.safetensors").read_bytes()[:-10]), "model.safetensors is truncated"),
        (lambda c: (c / "trainer_state.json").write_text('{"global_step": '), "trainer_state.json is unreadable"),
    ],
    ids=["interrupted", "truncated_pt", "truncated_safetensors", "truncated_json"],
)
def test_resume_skips_a_damaged_last_checkpoint_and_names_it(tmp_path, tokenizer, shapes_dataset, caplog, damage, problem):
    from hf_vidcap.trainer import CheckpointError

    args = _train_with_checkpoints(tmp_path, tokenizer, shapes_dataset)
    last = tmp_path / "run" / "checkpoint-4"
    damage(last)
    model, processor = make_model_and_processor(tokenizer)
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=shapes_dataset["train"], processing_class=processor)
    # Named explicitly, the damaged checkpoint is an error naming the file and pointing at the complete one.
    with pytest.raises(CheckpointError, match=rf"cannot resume from {last}: {problem}.*Complete checkpoints beside it: .*checkpoint-2"):
        trainer.train(resume_from_checkpoint=str(last))
    with caplog.at_level("WARNING", logger="hf_vidcap.trainer.checkpoints"):
        trainer.train(resume_from_checkpoint=True)
    assert f"skipping the incomplete checkpoint {last}: {problem}" in caplog.text
    assert trainer.state.global_step == 4 and [e["step"] for e in trainer.state.log_history if "loss" in e] == [1, 2, 3, 4]


def test_a_corrupt_state_file_is_an_error_naming_the_file_and_the_checkpoint(tmp_path, tokenizer, shapes_dataset):
    from hf_vidcap.trainer import CheckpointError

    args = _train_with_checkpoints(tmp_path, tokenizer, shapes_dataset, frame_sampling="random_segment", max_steps=2)
    checkpoint = tmp_path / "run" / "checkpoint-2"
    (checkpoint / "collator_state_rank0.json").write_text('{"rng": {"bit_generator": "PCG64", "state": ')  # cut short
    model, processor = make_model_and_processor(tokenizer)
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=shapes_dataset["train"], processing_class=processor)
    with pytest.raises(CheckpointError, match=r"collator_state_rank0.json is unreadable"):
        trainer.train(resume_from_checkpoint=str(checkpoint))
    # Past the cheap checks (a file that parses but holds garbage), the loader's error still names file and checkpoint.
    (checkpoint / "collator_state_rank0.json").write_text('{"rng": 3}')
    with pytest.raises(CheckpointError, match=rf"collator_state_rank0.json in checkpoint {checkpoint} cannot be read"):
        trainer.train(resume_from_checkpoint=str(checkpoint))


def test_all_checkpoints_damaged_is_a_clear_error(tmp_path, tokenizer, shapes_dataset):
    from hf_vidcap.trainer import CheckpointError

    args = _train_with_checkpoints(tmp_path, tokenizer, shapes_dataset)
    for step in (2, 4):
        (tmp_path / "run" / f"checkpoint-{step}" / "trainer_state.json").unlink()
    model, processor = make_model_and_processor(tokenizer)
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=shapes_dataset["train"], processing_class=processor)
    with pytest.raises(CheckpointError, match="no complete checkpoint in .*checkpoint-4, checkpoint-2 are damaged"):
        trainer.train(resume_from_checkpoint=True)
