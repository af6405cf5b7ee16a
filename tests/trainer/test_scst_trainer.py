import math

import pytest
import torch
from helpers import RecordingReward, make_args, make_model_and_processor

from hf_vidcap.rewards import get_cider_d_reward
from hf_vidcap.trainer import VideoSCSTTrainer


@pytest.mark.parametrize("xe_warmup_steps", [1, 0])
def test_two_steps_change_every_trainable_parameter(tmp_path, tokenizer, shapes_dataset, xe_warmup_steps):
    model, processor = make_model_and_processor(tokenizer)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    reward = get_cider_d_reward(shapes_dataset["train"]["captions"])
    trainer = VideoSCSTTrainer(
        model, [reward, RecordingReward()], make_args(tmp_path, xe_warmup_steps=xe_warmup_steps, reward_weights=[1.0, 0.1]),
        train_dataset=shapes_dataset["train"], processing_class=processor,
    )
    trainer.train()
    unchanged = [n for n, p in model.named_parameters() if p.requires_grad and torch.equal(p, before[n])]
    assert unchanged == []
    history = trainer.state.log_history
    assert "rewards/cider_d/mean" in history[-2] and "rewards/recording/mean" in history[-2]
    assert math.isfinite(history[-2]["loss"])
    if xe_warmup_steps:
        assert "xe_loss" in history[0] and "reward" not in history[0]


def test_rewards_receive_columns_groups_and_k_samples(tmp_path, tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)
    reward = RecordingReward()
    trainer = VideoSCSTTrainer(model, reward, make_args(tmp_path, max_steps=1), train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    sampled, greedy = reward.calls  # samples first, then the greedy baseline captions
    assert len(sampled["completions"]) == 4 * 3 and len(greedy["completions"]) == 4
    assert sampled["group_ids"] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    # Each video's columns are repeated for its K samples.
    assert sampled["video_id"][:3] == [sampled["video_id"][0]] * 3 and sampled["video_id"][3] != sampled["video_id"][0]
    assert sampled["captions"][0] == greedy["captions"][0]
    assert sampled["trainer_state"] is trainer.state
    assert all(isinstance(ids, list) for ids in sampled["completion_ids"])
    # Decoded frames for video-aware rewards (the K samples share one array) and each video's greedy caption.
    frames = sampled["video_frames"]
    assert frames[0].dtype.name == "uint8"
    assert frames[0].ndim == 4 and frames[0].shape[-1] == 3 and frames[0] is frames[2] and frames[0] is not frames[3]
    assert sampled["greedy_completions"][:3] == [greedy["completions"][0]] * 3
    assert "greedy_completions" not in greedy


def test_video_aware_and_online_rewards_in_training(tmp_path, tokenizer, shapes_dataset):
    from hf_vidcap.rewards import get_clip_r_reward, get_discriminator_reward
    from hf_vidcap.testing import tiny_clip_embedder

    model, processor = make_model_and_processor(tokenizer)
    embedder = tiny_clip_embedder()
    clip_r = get_clip_r_reward(embedder)
    discriminator = get_discriminator_reward(embedder, hidden_size=16)
    before = [p.detach().clone() for p in discriminator.discriminator.parameters()]
    trainer = VideoSCSTTrainer(
        model, [clip_r, discriminator], make_args(tmp_path, max_steps=2), train_dataset=shapes_dataset["train"], processing_class=processor
    )
    trainer.train()
    # 2 steps x 4 videos, each encoded once for the K samples and the greedy caption.
    assert clip_r.videos.num_encoded == len(clip_r.videos.cache) <= 8
    # The discriminator was updated once per step and its statistics logged.
    assert any(not torch.equal(a, b) for a, b in zip(before, discriminator.discriminator.parameters()))
    logged = [h for h in trainer.state.log_history if "rewards/discriminator/loss" in h]
    assert len(logged) == 2 and "rewards/clip_r/mean" in logged[0]


@pytest.mark.parametrize(
    "value, match",
    [(float("nan"), r"reward function 'recording' returned nan for completion .* of sample"), (None, "every reward function returned None")],
)
def test_bad_reward_values_are_errors(tmp_path, tokenizer, shapes_dataset, value, match):
    model, processor = make_model_and_processor(tokenizer)
    reward = RecordingReward(value) if value is not None else (lambda completions, **kw: [None] * len(completions))
    trainer = VideoSCSTTrainer(model, reward, make_args(tmp_path, max_steps=1), train_dataset=shapes_dataset["train"], processing_class=processor)
    with pytest.raises(ValueError, match=match):
        trainer.train()


@pytest.mark.parametrize(
    "output, error, match",
    [
        (lambda n: ["1.0"] * n, TypeError, r"reward function 'bad' returned '1.0' \(str\) for completion .* of sample"),
        (lambda n: 1.0, TypeError, r"reward function 'bad' returned float 1.0; it must return a list"),
        (lambda n: (1.0 for _ in range(n)), TypeError, r"reward function 'bad' returned generator"),
        (lambda n: "good", TypeError, r"reward function 'bad' returned str 'good'"),
        (lambda n: [1e300] * n, ValueError, r"reward function 'bad' returned 1e\+300 .* rescale the reward"),
    ],
)
def test_reward_outputs_of_the_wrong_kind_name_the_reward(tmp_path, tokenizer, shapes_dataset, output, error, match):
    model, processor = make_model_and_processor(tokenizer)

    def bad(completions, **kwargs):
        return output(len(completions))

    trainer = VideoSCSTTrainer(model, bad, make_args(tmp_path, max_steps=1), train_dataset=shapes_dataset["train"], processing_class=processor)
    with pytest.raises(error, match=match):
        trainer.train()


def test_reward_returning_wrong_length_is_an_error(tmp_path, tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)

    def short(completions, **kwargs):
        return [1.0]

    trainer = VideoSCSTTrainer(model, short, make_args(tmp_path, max_steps=1), train_dataset=shapes_dataset["train"], processing_class=processor)
    with pytest.raises(ValueError, match="returned 1 values for 12 completions"):
        trainer.train()


def test_xe_learning_rate_applies_before_the_switch(tmp_path, tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)
    args = make_args(tmp_path, max_steps=3, xe_warmup_steps=2, xe_learning_rate=1e-3, learning_rate=1e-5, lr_scheduler_type="constant")
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    rates = [entry["learning_rate"] for entry in trainer.state.log_history if "learning_rate" in entry]
    assert rates == pytest.approx([1e-3, 1e-3, 1e-5])


def test_evaluate_reports_cider_and_bleu(tmp_path, tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)
    trainer = VideoSCSTTrainer(
        model, RecordingReward(), make_args(tmp_path), train_dataset=shapes_dataset["train"],
        eval_dataset=shapes_dataset["validation"], processing_class=processor,
    )
    metrics = trainer.evaluate()
    assert {"eval_cider_d", "eval_bleu_4"} <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())


def test_lora_trains_only_adapters(tmp_path, tokenizer, shapes_dataset):
    from peft import LoraConfig

    model, processor = make_model_and_processor(tokenizer)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = VideoSCSTTrainer(
        model, RecordingReward(), make_args(tmp_path, max_steps=1), train_dataset=shapes_dataset["train"],
        processing_class=processor, peft_config=config,
    )
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if "lora_B" in n}
    trainer.train()
    assert any(not torch.equal(p, before[n]) for n, p in trainer.model.named_parameters() if n in before)


def test_step_metrics_go_to_training_logs_not_evaluation_logs(tmp_path, tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)
    args = make_args(tmp_path, max_steps=2, logging_steps=2, eval_strategy="steps", eval_steps=1)
    trainer = VideoSCSTTrainer(
        model, RecordingReward(), args, train_dataset=shapes_dataset["train"],
        eval_dataset=shapes_dataset["validation"].select(range(4)), processing_class=processor,
    )
    trainer.train()
    evals = [e for e in trainer.state.log_history if "eval_cider_d" in e]
    trains = [e for e in trainer.state.log_history if "loss" in e]
    assert len(evals) == 2 and len(trains) == 1
    assert all(not any(k.startswith("rewards/") for k in e) for e in evals)
    assert "rewards/recording/mean" in trains[0]


def test_the_step_reads_no_loss_back_to_the_host_and_the_log_gets_floats(tmp_path, tokenizer, shapes_dataset, monkeypatch):
    # On a GPU, .item() on a loss waits for the device: the step keeps its losses as tensors until the log.
    model, processor = make_model_and_processor(tokenizer)
    args = make_args(tmp_path, max_steps=2, logging_steps=2, beta=0.1, entropy_coef=0.01)
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=shapes_dataset["train"], processing_class=processor)
    read_back = []
    item = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda self: read_back.append(self.grad_fn is not None) or item(self))
    trainer.train()
    assert not any(read_back)  # no loss (a tensor with a graph) was read in the steps
    (logged,) = [e for e in trainer.state.log_history if "loss/policy" in e]
    for key in ("loss/policy", "kl", "entropy", "completions/mean_length"):
        assert type(logged[key]) is float, key


def test_t5_decoder_trains_with_xe_and_scst(tmp_path, tokenizer, shapes_dataset):
    from hf_vidcap import VideoBlip2Config, VideoBlip2ForConditionalGeneration

    model, processor = make_model_and_processor(tokenizer)
    t5 = {
        "model_type": "t5", "vocab_size": len(tokenizer), "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2,
        "num_decoder_layers": 2, "num_heads": 4, "dropout_rate": 0.0, "decoder_start_token_id": tokenizer.pad_token_id,
        "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
    }
    torch.manual_seed(0)
    model = VideoBlip2ForConditionalGeneration(VideoBlip2Config(**{**model.config.to_dict(), "text_config": t5}))
    torch.nn.init.normal_(model.query_tokens, std=0.5)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer = VideoSCSTTrainer(
        model, RecordingReward(), make_args(tmp_path, xe_warmup_steps=1), train_dataset=shapes_dataset["train"], processing_class=processor
    )
    trainer.train()
    unchanged = [n for n, p in model.named_parameters() if p.requires_grad and torch.equal(p, before[n])]
    assert unchanged == []
    assert "xe_loss" in trainer.state.log_history[0] and "rewards/recording/mean" in trainer.state.log_history[1]


def _with_unreadable_video(tmp_path, shapes_dataset, size: int, bad_index: int):
    """The first ``size`` training rows, row ``bad_index`` pointing at a file that is not a video."""
    import datasets

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    train = shapes_dataset["train"].select(range(size))
    rows = train.to_list()
    rows[bad_index]["video"] = {"path": str(bad), "bytes": None}
    return datasets.Dataset.from_list(rows, features=train.features), rows


def test_skipped_corrupt_videos_are_counted_in_the_logs(tmp_path, tokenizer, shapes_dataset):
    broken, _ = _with_unreadable_video(tmp_path, shapes_dataset, size=4, bad_index=1)
    model, processor = make_model_and_processor(tokenizer)
    args = make_args(tmp_path, max_steps=1, skip_corrupt_videos=True)
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=broken, processing_class=processor)
    trainer.train()
    assert trainer.state.log_history[0]["skipped_videos"] == 1.0


def test_a_batch_of_only_unreadable_videos_is_skipped_and_counted(tmp_path, tokenizer, shapes_dataset):
    # At batch size 1 (usual with gradient accumulation) one unreadable video is a whole batch: the step must go on.
    broken, rows = _with_unreadable_video(tmp_path, shapes_dataset, size=3, bad_index=0)
    model, processor = make_model_and_processor(tokenizer)
    reward = RecordingReward()
    args = make_args(tmp_path, max_steps=3, per_device_train_batch_size=1, skip_corrupt_videos=True, xe_warmup_steps=0)
    trainer = VideoSCSTTrainer(model, reward, args, train_dataset=broken, processing_class=processor)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "skipped_batches" in entry]
    assert len(logs) == 3 and logs[-1]["skipped_batches"] == 1.0 and logs[-1]["skipped_videos"] == 1.0
    # The two readable videos were rewarded (samples, then greedy captions); the unreadable one never was.
    assert {video for call in reward.calls for video in call["video_id"]} == {rows[1]["video_id"], rows[2]["video_id"]}
    assert any(not torch.equal(before[name], p) for name, p in model.named_parameters())
