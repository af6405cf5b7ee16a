"""VideoGitForCausalLM: equivalence with transformers' GitForCausalLM, both fusion modes, 4.x checkpoints,
generation, LoRA, and an SCST run through the trainer."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, GitConfig, GitForCausalLM

from hf_vidcap import VideoGitForCausalLM, VideoGitProcessor
from hf_vidcap.captioning import caption_token_logprobs, generate_captions, make_generation_config
from hf_vidcap.models import (
    convert_legacy_git_state_dict,
    create_tiny_video_git,
    get_default_lora_config,
    get_tiny_video_git_config,
)


def _model(tokenizer, seed=0, **kwargs):
    torch.manual_seed(seed)
    return create_tiny_video_git(tokenizer, **kwargs).eval()


def _video(batch=2, frames=4, seed=0):
    return torch.randn(batch, frames, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def _text(processor, captions):
    ids, mask = processor.pad_captions(processor.caption_ids(captions))
    prefix = torch.tensor([processor.prefix_ids()] * len(captions))
    return torch.cat([prefix, ids], 1), torch.cat([torch.ones_like(prefix), mask], 1)


def test_concat_mode_reproduces_git_for_causal_lm(tokenizer):
    video = _model(tokenizer, num_frames=4)
    config = video.config.to_dict()
    config.pop("frame_fusion")
    reference = GitForCausalLM(GitConfig(**{k: v for k, v in config.items() if k not in ("model_type", "architectures")})).eval()
    missing, unexpected = reference.load_state_dict(video.state_dict(), strict=False)
    assert missing == [] and unexpected == []
    processor = VideoGitProcessor(tokenizer, image_size=32)
    input_ids, attention_mask = _text(processor, ["a red circle moves left", "a blue square"])
    pixel_values = _video()
    expected = reference(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask, labels=input_ids)
    got = video(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask, labels=input_ids)
    torch.testing.assert_close(got.logits, expected.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(got.loss, expected.loss, atol=1e-6, rtol=0)
    assert got.logits.shape[1] == 4 * 17 + input_ids.shape[1]  # T * (P + 1) visual tokens, then the text
    # Cached greedy decoding agrees with GIT's own generate.
    config = make_generation_config(processor, 6)
    prefix = input_ids[:, :1]
    torch.testing.assert_close(
        video.generate(pixel_values=pixel_values, input_ids=prefix, generation_config=config),
        reference.generate(pixel_values=pixel_values, input_ids=prefix, generation_config=config),
    )


def test_mean_mode_averages_over_time_after_the_temporal_embedding(tokenizer):
    model = _model(tokenizer, num_frames=4, frame_fusion="mean")
    pixel_values = _video()
    embeds = model.get_video_embeds(pixel_values)
    assert embeds.shape == (2, 17, 32)  # P + 1 visual tokens whatever T is
    frames = model.get_frame_features(pixel_values)
    temporal = torch.stack([model.git.img_temporal_embedding[t][0, 0] for t in range(4)])  # (T, D_v)
    by_hand = model.git.visual_projection((frames + temporal[None, :, None]).mean(dim=1))
    torch.testing.assert_close(embeds, by_hand)
    # Averaging after adding the embedding cannot tell frame order (mean(f_t + e_t) = mean f + mean e); concat can.
    torch.testing.assert_close(model.get_video_embeds(pixel_values.flip(1)), embeds, atol=1e-5, rtol=0)
    concat = _model(tokenizer, num_frames=4)
    assert (concat.get_video_embeds(pixel_values.flip(1)) - concat.get_video_embeds(pixel_values)).abs().max() > 1e-3


def test_fewer_frames_keep_the_loss_aligned(tokenizer):
    model = _model(tokenizer, num_frames=4)
    processor = VideoGitProcessor(tokenizer, image_size=32)
    input_ids, attention_mask = _text(processor, ["a red circle moves left", "a blue square"])
    out = model(pixel_values=_video(frames=2), input_ids=input_ids, attention_mask=attention_mask, labels=input_ids)
    text_logits = out.logits[:, -input_ids.shape[1] :]
    by_hand = torch.nn.functional.cross_entropy(text_logits[:, :-1].reshape(-1, text_logits.shape[-1]), input_ids[:, 1:].reshape(-1))
    torch.testing.assert_close(out.loss, by_hand)
    with pytest.raises(ValueError, match="has 5 frames but the temporal embedding has num_image_with_embedding=4"):
        model.get_video_embeds(_video(frames=5))


def test_loads_4x_checkpoints_with_the_old_temporal_embedding_name(tokenizer, tmp_path):
    model = _model(tokenizer, num_frames=3)
    model.save_pretrained(tmp_path / "new")
    # Rewrite the checkpoint as transformers 4.x wrote it: "img_temperal_embedding".
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    weights = load_file(tmp_path / "new" / "model.safetensors")
    old = {k.replace("img_temporal_embedding", "img_temperal_embedding"): v for k, v in weights.items()}
    assert any("img_temperal_embedding" in k for k in old)
    save_file(old, legacy / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((tmp_path / "new" / "config.json").read_text())
    (legacy / "config.json").write_text(json.dumps(config))
    loaded, info = VideoGitForCausalLM.from_pretrained(legacy, output_loading_info=True)
    assert info["missing_keys"] == set() or not info["missing_keys"]
    assert not info["unexpected_keys"]
    for new, expected in zip(loaded.git.img_temporal_embedding, model.git.img_temporal_embedding):
        torch.testing.assert_close(new, expected)
    assert convert_legacy_git_state_dict(old).keys() == weights.keys()
    # Auto classes resolve the video config.
    assert type(AutoModelForCausalLM.from_pretrained(tmp_path / "new")) is VideoGitForCausalLM


@pytest.mark.parametrize("num_beams", [1, 3])
def test_generate_reads_one_new_token_per_step_from_its_cache(tokenizer, num_beams):
    # generate's cache keyword is past_key_values up to transformers 5.23 and cache from 5.24: the model must take
    # its cache under either, and then embeds only the newest token at each step.
    model = _model(tokenizer, num_frames=4)
    processor = VideoGitProcessor(tokenizer, image_size=32, prompt="a")
    lengths = []
    hook = model.git.embeddings.register_forward_pre_hook(
        lambda module, args, kwargs: lengths.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    prefix = torch.tensor([processor.prefix_ids()] * 2)
    try:
        ids = model.generate(
            pixel_values=_video(), input_ids=prefix,
            generation_config=make_generation_config(processor, 5, num_beams=num_beams, min_new_tokens=5),
        )
    finally:
        hook.remove()
    assert ids.shape[1] == prefix.shape[1] + 5
    assert lengths == [prefix.shape[1]] + [1] * 4  # the prompt once, then one token per step


def test_generation_modes_and_scoring(tokenizer):
    model = _model(tokenizer, num_frames=4)
    processor = VideoGitProcessor(tokenizer, image_size=32, prompt="a")
    embeds = model.get_video_embeds(_video())
    greedy, mask = generate_captions(model, processor, embeds, make_generation_config(processor, 6))
    beam, _ = generate_captions(model, processor, embeds, make_generation_config(processor, 6, num_beams=3))
    sampled, sampled_mask = generate_captions(model, processor, embeds, make_generation_config(processor, 6, do_sample=True, num_return_sequences=3))
    assert greedy.shape[0] == 2 and beam.shape[0] == 2 and sampled.shape[0] == 6
    # Teacher-forced log-probs of the greedy caption equal the cached decode's own (raw) logits.
    scored = caption_token_logprobs(model, processor, greedy, mask, video_embeds=embeds)
    config = make_generation_config(processor, 6, output_logits=True, return_dict_in_generate=True)
    prefix = torch.tensor([processor.prefix_ids()] * 2)
    out = model.generate(video_embeds=embeds, input_ids=prefix, generation_config=config)
    steps = torch.log_softmax(torch.stack(out.logits, 1)[:, : greedy.shape[1]], -1).gather(-1, greedy.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(scored, steps * mask, atol=1e-5, rtol=0)
    # K captions of one video from one encoding equal K copies of the video.
    ids, ids_mask = sampled[:4], sampled_mask[:4]
    once = caption_token_logprobs(model, processor, ids, ids_mask, pixel_values=_video()[:2], captions_per_video=2)
    copies = caption_token_logprobs(model, processor, ids, ids_mask, pixel_values=_video()[:2].repeat_interleave(2, 0))
    torch.testing.assert_close(once, copies, atol=1e-5, rtol=0)


def test_lora_wrap_save_load_merge_keep_greedy_output(tokenizer, tmp_path):
    from peft import PeftModel, get_peft_model

    model = _model(tokenizer, num_frames=4)
    processor = VideoGitProcessor(tokenizer, image_size=32)
    config = get_default_lora_config(model, init_lora_weights=False)  # random B: the adapter changes outputs
    peft_model = get_peft_model(model, config).eval()  # no LoRA dropout
    targeted = {n.rsplit(".", 2)[0] for n, _ in peft_model.named_parameters() if "lora_A" in n}
    assert targeted and all(".attention.self." in n and "image_encoder" not in n for n in targeted)
    assert len(targeted) == 2 * 2  # query and value of both decoder layers
    embeds = model.get_video_embeds(_video())
    generation = make_generation_config(processor, 6)
    adapted, _ = generate_captions(peft_model, processor, embeds, generation)
    peft_model.save_pretrained(tmp_path / "adapter")
    reloaded = PeftModel.from_pretrained(_model(tokenizer, num_frames=4), tmp_path / "adapter").eval()
    merged = reloaded.merge_and_unload()
    for candidate in (reloaded, merged):
        torch.testing.assert_close(generate_captions(candidate, processor, embeds, generation)[0], adapted)


def test_two_step_scst_run(tokenizer, shapes_dataset, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "trainer"))
    from helpers import RecordingReward, make_args

    from hf_vidcap.trainer import VideoSCSTTrainer

    model = _model(tokenizer, num_frames=8, frame_fusion="mean")
    processor = VideoGitProcessor(tokenizer, image_size=32)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    reward = RecordingReward()
    trainer = VideoSCSTTrainer(model, reward, make_args(tmp_path), train_dataset=shapes_dataset["train"], processing_class=processor)
    trainer.train()
    # Each of the 2 steps scores the greedy baseline (4 videos) and K = 3 samples per video.
    assert sorted(len(call["completions"]) for call in reward.calls) == [4, 4, 12, 12]
    assert all(text.strip() for call in reward.calls for text in call["completions"])
    assert any((p - before[n]).abs().max() > 0 for n, p in model.named_parameters())
    assert get_tiny_video_git_config(tokenizer).model_type == "video_git"
