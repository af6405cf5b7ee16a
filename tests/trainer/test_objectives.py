"""Baselines, rollouts and every loss term of VideoSCSTTrainer, checked against hand computations."""

import math

import pytest
import torch
from helpers import RecordingReward, make_args, make_model_and_processor

from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer
from hf_vidcap.trainer.baselines import compute_baselines, diversity_advantages, scale_advantages

# ----------------------------------------------------------------------------------------------- pure functions


def test_baselines_by_hand():
    rewards = torch.tensor([[1.0, 2.0, 6.0], [0.0, 3.0, 3.0]])
    greedy = torch.tensor([2.5, 1.0])
    b, valid = compute_baselines(rewards, "greedy", greedy)
    torch.testing.assert_close(b, torch.tensor([[2.5, 2.5, 2.5], [1.0, 1.0, 1.0]]))
    assert valid.all()
    # Leave one out: the mean of the two others.
    b, _ = compute_baselines(rewards, "leave_one_out")
    torch.testing.assert_close(b, torch.tensor([[4.0, 3.5, 1.5], [3.0, 1.5, 1.5]]))
    # Beam mean: the mean of all three, itself included.
    b, _ = compute_baselines(rewards, "beam_mean")
    torch.testing.assert_close(b, torch.tensor([[3.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
    b, _ = compute_baselines(rewards, "none")
    assert b.abs().sum() == 0
    with pytest.raises(ValueError, match=r"baseline \('best'\) must be one of \['greedy', .*register_baseline"):
        compute_baselines(rewards, "best")


def test_baselines_ignore_skipped_captions():
    rewards = torch.tensor([[1.0, float("nan"), 5.0], [2.0, float("nan"), float("nan")]])
    valid = torch.isfinite(rewards)
    b, kept = compute_baselines(rewards, "leave_one_out", valid=valid)
    # Video 0: the other valid caption; video 1 has no other valid caption, so its one caption is dropped too.
    torch.testing.assert_close(b[0, [0, 2]], torch.tensor([5.0, 1.0]))
    assert kept.tolist() == [[True, False, True], [False, False, False]]
    b, kept = compute_baselines(rewards, "beam_mean", valid=valid)
    torch.testing.assert_close(b[0, 0], torch.tensor(3.0))
    # A NaN greedy reward drops its whole video.
    _, kept = compute_baselines(torch.ones(2, 2), "greedy", torch.tensor([float("nan"), 1.0]))
    assert kept.tolist() == [[False, False], [True, True]]


def test_scaled_advantages_by_hand_and_equal_rewards_give_zero():
    rewards = torch.tensor([[1.0, 3.0], [2.0, 2.0]])
    valid = torch.ones_like(rewards, dtype=torch.bool)
    advantages = rewards - rewards.mean(dim=1, keepdim=True)  # [[-1, 1], [0, 0]]
    scaled = scale_advantages(advantages, rewards, valid, "group")
    # Group std: sqrt(2) for video 0 (unbiased), 0 for video 1 (all equal: 0 / eps = 0, no NaN).
    torch.testing.assert_close(scaled, torch.tensor([[-1.0, 1.0], [0.0, 0.0]]) / torch.tensor([[2**0.5 + 1e-4], [1e-4]]))
    scaled = scale_advantages(advantages, rewards, valid, "batch")
    torch.testing.assert_close(scaled, advantages / (rewards.std() + 1e-4))
    equal = torch.full((2, 3), 0.7)
    for mode in ("group", "batch"):
        out = scale_advantages(equal - equal, equal, torch.ones_like(equal, dtype=torch.bool), mode)
        assert torch.isfinite(out).all() and out.abs().sum() == 0


def test_diversity_advantages_by_hand():
    from hf_vidcap.rewards import bleu_distance, get_diversity_reward

    # Video 0: pairwise distances d(a, b) = 1, d(a, c) = 2, d(b, c) = 3, row sums [3, 4, 5]; reward (2/3) * sum.
    # Video 1: three identical samples.
    rewards = torch.tensor([[2 / 3 * 3, 2 / 3 * 4, 2 / 3 * 5], [0.0, 0.0, 0.0]])
    advantages = diversity_advantages(rewards)
    # The paper's baseline b = mean(d) = 12 / 9 applied to each of the 3 pair terms.
    torch.testing.assert_close(advantages[0], 2 / 3 * (torch.tensor([3.0, 4.0, 5.0]) - 3 * 12 / 9))
    assert advantages[0].sum().abs() < 1e-6  # the baseline centres the term
    # Identical samples: no diversity and no advantage.
    assert advantages[1].abs().sum() == 0
    # The rewards the trainer feeds in: (2 / K) sum_k d(y_j, y_k) from the diversity reward.
    texts = ["a red circle", "a blue square", "a red circle grows"]
    got = get_diversity_reward()(texts, group_ids=[0, 0, 0])
    for j, text in enumerate(texts):
        assert got[j] == pytest.approx(2 / 3 * sum(bleu_distance(text, other) for other in texts if other != text))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(baseline="beam"), r"baseline \('beam'\) must be one of \['greedy', 'beam_vs_greedy', 'leave_one_out', 'beam_mean', 'none'"),
        (dict(baseline="leave_one_out", num_generations=1), "set num_generations >= 2"),
        (dict(baseline="beam_mean"), "set rollout='beam'"),
        (dict(baseline="beam_vs_greedy"), "set rollout='beam'"),
        (dict(rollout="beam", num_beams=2, num_generations=3), r"num_beams \(2\) must be >= num_generations \(3\)"),
        (dict(rollout="beam", baseline="beam_vs_greedy", num_generations=1), "set num_beams > 1"),
        (dict(rollout="nucleus"), "rollout"),
        (dict(scale_rewards="std"), "scale_rewards"),
        (dict(scale_rewards="group", num_generations=1), "needs num_generations >= 2"),
        (dict(nonfinite_rewards="ignore"), "nonfinite_rewards"),
        (dict(beta=-0.1), r"beta \(-0.1\) must be a finite number >= 0"),
        (dict(entropy_coef=float("nan")), "entropy_coef"),
        (dict(exploration_alpha=1.5), r"exploration_alpha \(1.5\) must be in \[0, 1\]"),
        (dict(exploration_alpha=0.75, rollout="beam"), "exploration_alpha needs rollout='sample'"),
        (dict(reward_weights=[1.0, float("inf")]), "reward_weights"),
        (dict(remove_unused_columns=True), "remove_unused_columns must be False"),
        (dict(top_p=0.0), "top_p"),
        (dict(log_completions_steps=0), "log_completions_steps"),
        # Configurations that would train nothing (zero advantage, or no step size) are rejected with the fix.
        (dict(rollout="beam", baseline="beam_mean", num_generations=1), r"baseline='beam_mean' needs num_generations >= 2 .*nothing trains"),
        (dict(rollout="beam", baseline="greedy", num_generations=1), r"num_beams=1 is greedy decoding.*set num_beams >= 2"),
        (dict(learning_rate=float("nan")), r"learning_rate \(nan\) must be a finite number > 0"),
        (dict(learning_rate=-1e-5), r"learning_rate \(-1e-05\) must be a finite number > 0"),
        (dict(learning_rate=0.0), r"learning_rate \(0.0\) must be"),
        (dict(xe_learning_rate=float("inf")), r"xe_learning_rate \(inf\) must be"),
        (dict(policy_weight=0.0), r"policy_weight is 0 and so are teacher_forcing_weight and xe_weight: .*nothing would train"),
        (dict(policy_weight=-1.0, teacher_forcing_weight=1.0), r"policy_weight \(-1.0\) must be a finite number >= 0"),
        # The paper configs ask for bf16: without a GPU (the test machines) the error says which flag to change.
        pytest.param(
            dict(bf16=True), r"pass --bf16 false --fp16 false .* or --use_cpu true",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU runs bf16"), id="bf16-without-gpu",
        ),
    ],
)
def test_invalid_configurations_are_rejected(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        VideoSCSTConfig(output_dir=str(tmp_path), **kwargs)


def test_beam_rollouts_with_more_beams_than_captions_still_train_against_greedy(tmp_path):
    # K = 1 with num_beams >= 2: the top beam against the greedy caption, which is not zero advantage.
    VideoSCSTConfig(output_dir=str(tmp_path), rollout="beam", baseline="greedy", num_generations=1, num_beams=3)


def test_repr_masks_the_hub_token(tmp_path):
    config = VideoSCSTConfig(output_dir=str(tmp_path), hub_token="hf_SENTINEL_do_not_print")
    assert "hf_SENTINEL" not in repr(config) and "hf_SENTINEL" not in str(config) and "<HUB_TOKEN>" in repr(config)
    # Nor in the pickle the Trainer saves as training_args.bin in checkpoints and pushed folders.
    import pickle

    assert b"hf_SENTINEL" not in pickle.dumps(config) and pickle.loads(pickle.dumps(config)).hub_token is None
    assert config.hub_token == "hf_SENTINEL_do_not_print"  # the live config keeps it


def test_constructor_errors(tmp_path, tokenizer):
    model, processor = make_model_and_processor(tokenizer)
    with pytest.raises(ValueError, match="reward_weights has 2 values but there are 1 reward functions"):
        VideoSCSTTrainer(model, RecordingReward(), make_args(tmp_path, reward_weights=[1.0, 2.0]), processing_class=processor)
    with pytest.raises(ValueError, match="processing_class is required"):
        VideoSCSTTrainer(model, RecordingReward(), make_args(tmp_path))
    with pytest.raises(ValueError, match="reward_funcs is empty"):
        VideoSCSTTrainer(model, [], make_args(tmp_path), processing_class=processor)
    with pytest.raises(ValueError, match="repeat; give each a distinct __name__"):
        VideoSCSTTrainer(model, [RecordingReward(), RecordingReward()], make_args(tmp_path), processing_class=processor)
    with pytest.raises(ValueError, match="cache_video_features needs a frozen vision tower"):
        VideoSCSTTrainer(model, RecordingReward(), make_args(tmp_path, cache_video_features=True), processing_class=processor)


# ----------------------------------------------------------------------------------------------- the loss, by hand


class TextReward:
    """Deterministic: distinct words plus 0.1 per 'a'."""

    __name__ = "text"

    def __init__(self):
        self.calls = []

    def __call__(self, completions, **kwargs):
        self.calls.append({"completions": list(completions), **kwargs})
        return [len(set(c.split())) + 0.1 * c.split().count("a") for c in completions]


def _manual_caption_stats(model, processor, pixel_values, ids, temperature=1.0):
    """Log-probabilities and entropies of one caption's tokens, from a full forward of that caption alone."""
    prefix = processor.prefix_ids()
    full = torch.tensor([prefix + list(ids)])
    logits = model(pixel_values=pixel_values, input_ids=full).logits[0, len(prefix) - 1 : -1].float() / temperature
    logprobs = torch.log_softmax(logits, -1)
    token = logprobs.gather(-1, torch.tensor(ids).unsqueeze(-1)).squeeze(-1)
    entropy = -(logprobs.exp() * logprobs).sum(-1)
    return token, entropy


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(rollout="beam", baseline="beam_vs_greedy"),
        dict(rollout="beam", baseline="beam_mean", num_beams=4, length_normalization=True),
        dict(rollout="beam", baseline="leave_one_out", scale_rewards="group", entropy_coef=0.05),
        dict(rollout="beam", baseline="none", teacher_forcing_weight=0.5, xe_weight=0.3, beta=0.2),
        dict(rollout="beam", baseline="none", teacher_forcing_weight=1.0, policy_weight=0.0),
        dict(rollout="beam", baseline="beam_vs_greedy", teacher_forcing_weight=0.4, policy_weight=0.25),
    ],
    ids=["beam_vs_greedy", "beam_mean+length_norm", "loo+group_scale+entropy", "none+wtf+xe+kl", "wtf_only", "scaled_policy+wtf"],
)
def test_loss_matches_a_hand_computation(tmp_path, tokenizer, shapes_dataset, kwargs):
    model, processor = make_model_and_processor(tokenizer)
    model.eval()
    reward = TextReward()
    args = make_args(tmp_path, num_generations=3, xe_captions_per_video=2, **kwargs)
    trainer = VideoSCSTTrainer(model, reward, args, train_dataset=shapes_dataset["train"], processing_class=processor)
    if args.beta > 0:
        # Move the policy away from the frozen reference copy so that the KL term is not 0.
        with torch.no_grad():
            for p in model.language_model.parameters():
                p.add_(0.05 * torch.randn_like(p))
    batch = trainer.data_collator([shapes_dataset["train"][i] for i in range(2)])
    loss = trainer.compute_loss(model, batch)
    calls = list(reward.calls)  # samples, [greedy], [references]

    k, pv = 3, batch["pixel_values"]
    samples = calls[0]
    rewards = torch.tensor(reward(samples["completions"])).view(2, k)
    if args.baseline in ("beam_vs_greedy",):
        baselines = torch.tensor(reward(calls[1]["completions"])).view(2, 1).expand(2, k)
    elif args.baseline == "beam_mean":
        baselines = rewards.mean(dim=1, keepdim=True).expand(2, k)
    elif args.baseline == "leave_one_out":
        baselines = (rewards.sum(dim=1, keepdim=True) - rewards) / (k - 1)
    else:
        baselines = torch.zeros(2, k)
    advantages = rewards - baselines
    if args.scale_rewards == "group":
        advantages = advantages / (rewards.std(dim=1, keepdim=True) + 1e-4)
    expected, entropies, kls, tokens = 0.0, [], [], 0
    with torch.no_grad():
        for i, ids in enumerate(samples["completion_ids"]):
            token, entropy = _manual_caption_stats(model, processor, pv[i // k : i // k + 1], ids)
            sequence = token.mean() if args.length_normalization else token.sum()
            expected -= args.policy_weight * advantages.view(-1)[i] * sequence / (2 * k)
            entropies.append(entropy.sum())
            tokens += len(ids)
            if args.beta > 0:
                ref, _ = _manual_caption_stats(trainer.ref_model, processor, pv[i // k : i // k + 1], ids)
                delta = ref - token
                kls.append((delta.exp() - delta - 1).sum())
        if args.entropy_coef:
            expected -= args.entropy_coef * sum(entropies) / tokens
        if args.beta:
            expected += args.beta * sum(kls) / tokens
        if args.teacher_forcing_weight or args.xe_weight:
            references = calls[-1]["completions"]  # the references scored as extra trajectories
            assert all(r in batch["columns"]["captions"][j // 2] for j, r in enumerate(references))
            ref_rewards = torch.tensor(reward(references))
            wtf, xe_sum, xe_tokens = 0.0, 0.0, 0
            for j, text in enumerate(references):
                ids = processor.caption_ids([text], args.max_completion_length)[0]
                token, _ = _manual_caption_stats(model, processor, pv[j // 2 : j // 2 + 1], ids)
                wtf -= ref_rewards[j] * token.sum() / len(references)
                xe_sum -= token.sum()
                xe_tokens += len(ids)
            expected += args.teacher_forcing_weight * wtf + args.xe_weight * xe_sum / xe_tokens
    torch.testing.assert_close(loss.detach(), torch.as_tensor(expected, dtype=torch.float32), atol=2e-4, rtol=1e-5)


# ----------------------------------------------------------------------------------------------- in training


def _count_calls(module, method):
    calls = []
    original = getattr(module, method)

    def wrapped(*args, **kwargs):
        calls.append(kwargs.get("num_beams") or kwargs.get("generation_config"))
        return original(*args, **kwargs)

    setattr(module, method, wrapped)
    return calls


@pytest.mark.parametrize(
    "kwargs, generate_calls",
    [
        (dict(), 1),  # the greedy rows and the K samples in one sampling call
        (dict(baseline="leave_one_out"), 1),  # no greedy caption needed
        (dict(rollout="beam", baseline="beam_vs_greedy"), 2),
        (dict(rollout="beam", baseline="beam_mean"), 1),
        (dict(baseline="none", exploration_alpha=0.75), 1),
    ],
)
def test_each_baseline_trains_with_one_vision_pass_and_minimal_generate_calls(tmp_path, tokenizer, shapes_dataset, kwargs, generate_calls):
    model, processor = make_model_and_processor(tokenizer)
    vision_calls = []
    model.vision_model.register_forward_hook(lambda *a: vision_calls.append(1))
    generate = _count_calls(model.language_model, "generate")
    reward = RecordingReward()
    trainer = VideoSCSTTrainer(model, reward, make_args(tmp_path, max_steps=1, **kwargs), train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    # The vision tower (trainable here) ran once for the batch of 4 videos, not K + 1 times.
    assert len(vision_calls) == 1
    assert len(generate) == generate_calls
    logs = trainer.state.log_history[0]
    assert math.isfinite(logs["loss"]) and "rewards/recording/mean" in logs
    assert ("reward_greedy" in logs) == (trainer.args.baseline in ("greedy", "beam_vs_greedy"))
    if "exploration_alpha" in kwargs:
        assert "rewards/diversity/mean" in logs
    if trainer.args.rollout == "beam":
        # The K beams of one video are distinct captions.
        first = reward.calls[0]["completion_ids"][:3]
        assert len({tuple(ids) for ids in first}) == 3


def test_rewards_that_raise_name_the_reward_and_the_sample(tmp_path, tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)

    def fragile(completions, video_id, **kwargs):
        for vid in video_id:
            if vid == video_id[4]:
                raise KeyError("no score for this video")
        return [1.0] * len(completions)

    trainer = VideoSCSTTrainer(model, fragile, make_args(tmp_path, max_steps=1), train_dataset=shapes_dataset["train"], processing_class=processor)
    with pytest.raises(RuntimeError, match=r"reward function 'fragile' raised KeyError: 'no score for this video' on sample '[^']+' \(completion"):
        trainer.train()


def test_nonfinite_rewards_can_be_skipped_and_counted(tmp_path, tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)
    calls = []

    def sometimes_nan(completions, **kwargs):
        calls.append(len(completions))
        values = [float(len(c.split())) for c in completions]
        if len(completions) > 4:  # the sampled captions; the greedy baselines stay finite
            values[0] = values[5] = float("nan")
        return values

    args = make_args(tmp_path, max_steps=1, nonfinite_rewards="skip")
    trainer = VideoSCSTTrainer(model, sometimes_nan, args, train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    logs = trainer.state.log_history[0]
    assert logs["skipped_rewards"] == 2.0 and math.isfinite(logs["loss"])


def test_completion_tables_are_logged(tmp_path, tokenizer, shapes_dataset):
    import json

    model, processor = make_model_and_processor(tokenizer)
    args = make_args(tmp_path, max_steps=2, log_completions=True, log_completions_steps=1, num_completions_to_print=5)
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    assert len(trainer.completions_log) == 10
    row = trainer.completions_log[0]
    assert set(row) == {"step", "video", "completion", "recording", "reward", "advantage"}
    assert row["recording"] == float(len(row["completion"].split()))
    lines = (tmp_path / "completions.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == trainer.completions_log


def test_kl_with_lora_uses_the_disabled_adapters_not_a_copy(tmp_path, tokenizer, shapes_dataset):
    from peft import LoraConfig

    model, processor = make_model_and_processor(tokenizer)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=True)
    args = make_args(tmp_path, max_steps=3, beta=0.5, learning_rate=5e-2, baseline="leave_one_out")
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=shapes_dataset["train"], processing_class=processor, peft_config=config)
    assert trainer.ref_model is None
    trainer.train()
    kls = [entry["kl"] for entry in trainer.state.log_history if "kl" in entry]
    # LoRA starts as the identity (B = 0): the policy equals the reference, then moves away from it.
    assert kls[0] == 0.0 and kls[-1] > 0.0


@pytest.mark.parametrize("stage", ["rl", "xe_warmup"])
def test_frozen_vision_features_are_cached_across_epochs(tmp_path, tokenizer, shapes_dataset, stage):
    train = shapes_dataset["train"].select(range(8))
    losses = {}
    warmup = {"xe_warmup_steps": 4} if stage == "xe_warmup" else {}
    for cache in (False, True):
        model, processor = make_model_and_processor(tokenizer)
        model.vision_model.requires_grad_(False)
        calls = []
        model.vision_model.register_forward_hook(lambda *a, calls=calls: calls.append(1))
        args = make_args(tmp_path, max_steps=4, cache_video_features=cache, baseline="leave_one_out", **warmup)
        trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=train, processing_class=processor)
        trainer.train()
        losses[cache] = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        if cache:
            # 2 epochs of 2 batches: the 8 videos are encoded in the first epoch only.
            assert trainer.feature_cache_stats == {"hits": 8, "misses": 8, "disk_hits": 0} and len(calls) == 2
        else:
            assert len(calls) == 4
    assert losses[True] == pytest.approx(losses[False], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("kwargs", [dict(gradient_checkpointing=True), dict(bf16=True), dict(gradient_accumulation_steps=2)])
def test_engineering_options_train(tmp_path, tokenizer, shapes_dataset, kwargs):
    model, processor = make_model_and_processor(tokenizer)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = VideoSCSTTrainer(model, RecordingReward(), make_args(tmp_path, max_steps=1, **kwargs), train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    assert math.isfinite(trainer.state.log_history[0]["loss"])
    assert any(not torch.equal(p, before[n]) for n, p in model.named_parameters())
    assert set(trainer.step_timings[0]) >= {"encode", "generate", "reward", "forward", "backward", "optimizer", "step"}


def test_rewards_that_use_greedy_captions_get_them_without_a_greedy_baseline(tmp_path, tokenizer, shapes_dataset):
    class NeedsGreedy(RecordingReward):
        uses_greedy_completions = True

    model, processor = make_model_and_processor(tokenizer)
    generate = _count_calls(model.language_model, "generate")
    reward = NeedsGreedy()
    args = make_args(tmp_path, max_steps=1, baseline="leave_one_out")
    VideoSCSTTrainer(model, reward, args, train_dataset=shapes_dataset["train"], processing_class=processor).train()
    assert len(generate) == 1 and len(reward.calls) == 1  # greedy decoded (in the sampling pass), not scored
    assert len(reward.calls[0]["greedy_completions"]) == 12
