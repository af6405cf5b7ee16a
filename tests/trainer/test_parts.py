"""The trainer's replaceable parts: a baseline and a rollout strategy written in user code (here, outside the
package), registered by name, validated by the config and used by the trainer; the policy loss by hand."""

import pytest
import torch
from helpers import RecordingReward, make_args, make_model_and_processor

from hf_vidcap.trainer import (
    Baseline,
    SampleRollout,
    VideoSCSTConfig,
    VideoSCSTTrainer,
    policy_loss,
    register_baseline,
    register_rollout,
)


@register_baseline("user_median")
class MedianBaseline(Baseline):
    """Each video's median reward; asks for no greedy caption."""

    min_generations = 3
    calls = []

    def __call__(self, rewards, valid, greedy_rewards=None):
        MedianBaseline.calls.append((rewards.clone(), greedy_rewards))
        return rewards.median(dim=1, keepdim=True).values.expand_as(rewards), valid


@register_rollout("user_min_length")
class MinLengthRollout(SampleRollout):
    """Sampling, with at least 3 new tokens per caption."""

    configs = []

    def generation_config(self, processor, args):
        config = super().generation_config(processor, args)
        config.min_new_tokens = 3
        MinLengthRollout.configs.append(config)
        return config


def test_a_user_baseline_and_rollout_train_two_steps(tmp_path, tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)
    reward = RecordingReward()
    args = make_args(tmp_path, baseline="user_median", rollout="user_min_length", num_generations=3)
    trainer = VideoSCSTTrainer(model, reward, args, train_dataset=shapes_dataset["train"], processing_class=processor)
    before = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    trainer.train()
    assert len(MedianBaseline.calls) == 2 and all(greedy is None for _, greedy in MedianBaseline.calls)
    assert MedianBaseline.calls[0][0].shape == (4, 3)  # (B, K)
    # No greedy caption was decoded (nothing asked for one): each reward call scored the 4 x 3 samples only.
    assert [len(call["completions"]) for call in reward.calls] == [12, 12]
    assert MinLengthRollout.configs and all(len(c.split()) >= 3 for call in reward.calls for c in call["completions"])
    assert all(not torch.equal(before[name], p) for name, p in model.named_parameters() if p.requires_grad)


def test_user_parts_are_validated_by_the_config(tmp_path):
    with pytest.raises(ValueError, match=r"baseline='user_median' needs num_generations >= 3"):
        VideoSCSTConfig(output_dir=str(tmp_path), baseline="user_median", num_generations=2)
    with pytest.raises(ValueError, match=r"rollout \('topk'\) must be one of \['sample', 'beam', .*'user_min_length'"):
        VideoSCSTConfig(output_dir=str(tmp_path), rollout="topk")
    with pytest.raises(TypeError, match="decorates Baseline subclasses"):
        register_baseline("bad")(object)


def test_policy_loss_by_hand():
    logprobs = torch.tensor([-1.0, -2.0, -0.5, -3.0], requires_grad=True)
    advantages = torch.tensor([[0.2, -0.3], [1.0, -1.0]])
    valid = torch.tensor([[True, True], [True, False]])
    loss = policy_loss(logprobs, advantages, valid)
    # Three usable captions: -(0.2 * -1 + -0.3 * -2 + 1.0 * -0.5) / 3 = -(-0.1) / 3; the fourth weighs 0.
    torch.testing.assert_close(loss, torch.tensor(0.1 / 3))
    loss.backward()
    torch.testing.assert_close(logprobs.grad, torch.tensor([-0.2, 0.3, -1.0, 0.0]) / 3)


class _KeepsInputs(VideoSCSTTrainer):
    """Keeps each training batch, to recompute the step's loss by hand."""

    def compute_loss(self, model, inputs, *args, **kwargs):
        self.kept_inputs = inputs
        return super().compute_loss(model, inputs, *args, **kwargs)


def test_default_step_loss_sampled_captions_against_the_greedy_baseline_by_hand(tmp_path, tokenizer, shapes_dataset):
    # The default mode: K sampled captions per video, the video's greedy caption as baseline, loss = the mean over
    # the B * K captions of -(r_i - r_greedy(video)) * log p(caption_i), log p summed over the caption's tokens.
    from hf_vidcap.captioning import caption_token_logprobs

    model, processor = make_model_and_processor(tokenizer)
    initial = {name: p.detach().clone() for name, p in model.state_dict().items()}
    reward = RecordingReward()
    args = make_args(tmp_path, max_steps=1, per_device_train_batch_size=2, num_generations=2)
    trainer = _KeepsInputs(model, reward, args, train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    logged = trainer.state.log_history[0]["loss"]

    samples, greedy = reward.calls  # the K samples of every video, then every video's greedy caption
    assert len(samples["completions"]) == 4 and len(greedy["completions"]) == 2
    r = torch.tensor([float(len(c.split())) for c in samples["completions"]]).view(2, 2)
    b = torch.tensor([float(len(c.split())) for c in greedy["completions"]]).view(2, 1)
    ids, mask = processor.pad_captions(samples["completion_ids"])
    model.load_state_dict(initial)  # the policy the captions were sampled from
    with torch.no_grad():
        token_logprobs = caption_token_logprobs(
            model, processor, ids, mask, pixel_values=trainer.kept_inputs["pixel_values"], captions_per_video=2
        )
    expected = -((r - b).view(-1) * token_logprobs.sum(dim=1)).mean()
    assert (r - b).abs().sum() > 0  # a loss that is not trivially zero
    assert logged == pytest.approx(expected.item(), rel=1e-4)


def test_rewards_get_trls_log_hooks_and_combined_components_are_logged(tmp_path, tokenizer, shapes_dataset):
    from hf_vidcap.rewards import combine_rewards

    def words(completions, **kwargs):
        return [float(len(c.split())) for c in completions]

    def letters(completions, log_extra=None, **kwargs):
        log_extra("letters_seen", [len(c) for c in completions])
        return [len(c) / 10 for c in completions]

    combined = combine_rewards({"words": words, "letters": letters}, weights=[1.0, 0.5], name="combined")
    model, processor = make_model_and_processor(tokenizer)
    args = make_args(tmp_path, max_steps=2, log_completions=True, num_completions_to_print=3)
    trainer = VideoSCSTTrainer(model, combined, args, train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(logs) == 2 and all("rewards/words/mean" in e and "rewards/letters/mean" in e for e in logs)
    # The components are logged from the rollouts only: their weighted sum is the combined reward's mean.
    for entry in logs:
        assert entry["rewards/combined/mean"] == pytest.approx(entry["rewards/words/mean"] + 0.5 * entry["rewards/letters/mean"], rel=1e-5)
    rows = trainer.completions_log
    assert rows and all(row["letters_seen"] == len(row["completion"]) for row in rows)
