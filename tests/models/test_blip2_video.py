import pytest
import torch
from transformers import AutoConfig, AutoModelForImageTextToText, Blip2Config, Blip2ForConditionalGeneration

from hf_vidcap import VideoBlip2Config, VideoBlip2ForConditionalGeneration, VideoBlip2Processor
from hf_vidcap.models import create_tiny_video_blip2, get_tiny_video_blip2_config

T5_TEXT_CONFIG = {
    "model_type": "t5",
    "d_model": 32,
    "d_kv": 8,
    "d_ff": 64,
    "num_layers": 2,
    "num_decoder_layers": 2,
    "num_heads": 4,
    "dropout_rate": 0.0,
    "decoder_start_token_id": 0,
}


def _config(tokenizer, text="opt", **kwargs):
    config = get_tiny_video_blip2_config(tokenizer, image_size=32, patch_size=8, hidden_size=32, num_query_tokens=4, text_hidden_size=32, **kwargs)
    if text == "t5":
        t5 = {**T5_TEXT_CONFIG, "vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id}
        config = VideoBlip2Config(**{**config.to_dict(), "text_config": t5})
    return config


def _inputs(tokenizer, batch=2, frames=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    pixel_values = torch.randn(batch, frames, 3, 32, 32, generator=g)
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)
    ids, mask = processor.pad_captions(processor.caption_ids(["a red circle moves left", "a blue square grows"][:batch]))
    prefix = torch.tensor([processor.prefix_ids()] * batch)
    return pixel_values, torch.cat([prefix, ids], 1), torch.cat([torch.ones_like(prefix), mask], 1), processor


def test_forward_shapes_and_video_embeds(tokenizer):
    model = VideoBlip2ForConditionalGeneration(_config(tokenizer, num_frames=4)).eval()
    pixel_values, input_ids, attention_mask, _ = _inputs(tokenizer)
    embeds = model.get_video_embeds(pixel_values)
    assert embeds.shape == (2, 4, 32)  # (B, Q, D_lm): Q query tokens whatever the number of frames
    out = model(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask)
    assert out.logits.shape == (*input_ids.shape, len(tokenizer))
    same = model(video_embeds=embeds, input_ids=input_ids, attention_mask=attention_mask)
    torch.testing.assert_close(same.logits, out.logits)


def test_captions_per_video_equals_repeating_the_video(tokenizer):
    model = VideoBlip2ForConditionalGeneration(_config(tokenizer, num_frames=4)).eval()
    pixel_values, input_ids, attention_mask, _ = _inputs(tokenizer)
    ids, mask = input_ids.repeat_interleave(3, 0), attention_mask.repeat_interleave(3, 0)
    once = model(pixel_values=pixel_values, input_ids=ids, attention_mask=mask, captions_per_video=3).logits
    repeated = model(pixel_values=pixel_values.repeat_interleave(3, 0), input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(once, repeated)


def test_temporal_embedding_makes_frame_order_matter(tokenizer):
    pixel_values, input_ids, attention_mask, _ = _inputs(tokenizer)
    reversed_video = pixel_values.flip(1)
    gaps = {}
    for use in (False, True):
        torch.manual_seed(0)
        model = create_tiny_video_blip2(tokenizer, image_size=32, patch_size=8, hidden_size=32, num_query_tokens=4, num_frames=4, use_temporal_embedding=use).eval()
        a = model.get_video_features(pixel_values).qformer_outputs.last_hidden_state
        b = model.get_video_features(reversed_video).qformer_outputs.last_hidden_state
        gaps[use] = (a - b).abs().max().item()
    # Without it, cross-attention over the concatenated frames is permutation-invariant: only rounding differs
    # (measured 2e-7). With it, reversing the frames changes the queries (measured 3e-5 at random init, where
    # the video's share of the query output is still small).
    assert gaps[False] < 1e-6
    assert gaps[True] > 1e-5


@pytest.mark.parametrize("text", ["opt", "t5"])
def test_single_frame_reproduces_blip2(tokenizer, text):
    torch.manual_seed(0)
    config = _config(tokenizer, text=text, num_frames=4, use_temporal_embedding=True)
    video = VideoBlip2ForConditionalGeneration(config).eval()
    assert torch.count_nonzero(video.temporal_embedding) == 0 or config.temporal_embedding_init_std > 0
    torch.nn.init.zeros_(video.temporal_embedding)  # a freshly loaded image checkpoint starts here
    image_config = Blip2Config(
        vision_config=config.vision_config.to_dict(),
        qformer_config=config.qformer_config.to_dict(),
        text_config=config.text_config.to_dict(),
        num_query_tokens=config.num_query_tokens,
        image_token_index=config.image_token_index,
    )
    image = Blip2ForConditionalGeneration(image_config).eval()
    missing, unexpected = image.load_state_dict(video.state_dict(), strict=False)
    assert missing == [] and unexpected == ["temporal_embedding"]
    pixel_values, input_ids, attention_mask, _ = _inputs(tokenizer, frames=1)
    kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if text == "t5":
        kwargs = {"input_ids": input_ids[:, :5], "decoder_input_ids": input_ids[:, 5:]}
    expected = image(pixel_values=pixel_values[:, 0], **kwargs).logits
    torch.testing.assert_close(video(pixel_values=pixel_values, **kwargs).logits, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(video(pixel_values=pixel_values[:, 0], **kwargs).logits, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("text", ["opt", "t5"])
def test_generate_greedy_beam_and_sample(tokenizer, text):
    from hf_vidcap.captioning import generate_captions, make_generation_config

    torch.manual_seed(0)
    model = VideoBlip2ForConditionalGeneration(_config(tokenizer, text=text, num_frames=4)).eval()
    pixel_values, _, _, processor = _inputs(tokenizer)
    embeds = model.get_video_embeds(pixel_values)
    greedy, _ = generate_captions(model, processor, embeds, make_generation_config(processor, 6))
    beam, _ = generate_captions(model, processor, embeds, make_generation_config(processor, 6, num_beams=3))
    sampled, mask = generate_captions(model, processor, embeds, make_generation_config(processor, 6, do_sample=True, num_return_sequences=3))
    assert greedy.shape[0] == 2 and beam.shape[0] == 2 and sampled.shape[0] == 6
    assert sampled.shape[1] <= 6 and mask.shape == sampled.shape
    # Generation from pixel_values equals generation from the precomputed encoding.
    prefix = torch.tensor([processor.prefix_ids()] * 2)
    config = make_generation_config(processor, 6)
    torch.testing.assert_close(
        model.generate(pixel_values=pixel_values, input_ids=prefix, generation_config=config),
        model.generate(video_embeds=embeds, input_ids=prefix, generation_config=config),
    )
    # Suppressed tokens never appear.
    for token in (processor.image_token_id, tokenizer.bos_token_id, tokenizer.unk_token_id):
        assert not (sampled == token).any()


def test_save_and_load_round_trip_with_auto_classes(tmp_path, tokenizer):
    torch.manual_seed(0)
    model = create_tiny_video_blip2(tokenizer, image_size=32, patch_size=8, hidden_size=32, num_query_tokens=4, num_frames=4).eval()
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32, prompt="")
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).model_type == "video_blip2"
    loaded = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, VideoBlip2ForConditionalGeneration)
    pixel_values, input_ids, attention_mask, _ = _inputs(tokenizer)
    torch.testing.assert_close(
        loaded(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask).logits,
        model(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask).logits,
        rtol=0,
        atol=0,
    )
    reloaded = VideoBlip2Processor.from_pretrained(tmp_path)
    assert reloaded.to_dict() == processor.to_dict() and reloaded.prefix_ids() == processor.prefix_ids()


def test_bad_inputs(tokenizer):
    model = VideoBlip2ForConditionalGeneration(_config(tokenizer, num_frames=4, use_temporal_embedding=True))
    with pytest.raises(ValueError, match="6 frames but the temporal embedding has config.num_frames=4"):
        model.get_video_embeds(torch.randn(1, 6, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, T, C, H, W\)"):
        model.get_video_embeds(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="pass one of pixel_values, video_embeds or frame_features, not pixel_values and video_embeds"):
        model(pixel_values=torch.randn(1, 2, 3, 32, 32), video_embeds=torch.randn(1, 4, 32), input_ids=torch.ones(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="frame_fusion"):
        VideoBlip2Config(frame_fusion="mean")
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)
    import numpy as np

    with pytest.raises(ValueError, match="video 1 has 3 frames but video 0 has 4"):
        processor.preprocess_videos([np.zeros((4, 8, 8, 3), np.uint8), np.zeros((3, 8, 8, 3), np.uint8)])


def test_frame_difference_modes(tokenizer):
    import numpy as np

    frames = np.zeros((3, 8, 8, 3), np.uint8)
    frames[1, :, :4] = 255  # the left half lights up in frame 1, then goes dark again in frame 2
    plain = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=8)
    append = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=8, frame_differences="append")
    replace = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=8, frame_differences=True)
    x = plain.preprocess_videos([frames])[0]
    a = append.preprocess_videos([frames])[0]
    r = replace.preprocess_videos([frames])[0]
    assert (x.shape[0], a.shape[0], r.shape[0]) == (3, 5, 3)
    assert (append.num_model_frames(3), replace.num_model_frames(3)) == (5, 3)
    torch.testing.assert_close(a[:3], x)
    std = torch.tensor(plain.image_std).view(3, 1, 1)
    # Difference 1 -> 0: +1/std where the half lit up; difference 2 -> 1: -1/std there; 0 elsewhere.
    torch.testing.assert_close(a[3, :, :, :4], (1 / std).expand(3, 8, 4))
    torch.testing.assert_close(a[4, :, :, :4], (-1 / std).expand(3, 8, 4))
    assert a[3:, :, :, 4:].abs().max() == 0
    torch.testing.assert_close(r[0], x[0])
    torch.testing.assert_close(r[1:], a[3:])
    with pytest.raises(ValueError, match="frame_differences"):
        VideoBlip2Processor(tokenizer, num_query_tokens=4, frame_differences="both")


def test_prompt_with_unknown_words_is_rejected(tokenizer):
    with pytest.raises(ValueError, match="prompt \\('a video of'\\) has words the tokenizer does not know"):
        VideoBlip2Processor(tokenizer, num_query_tokens=4, prompt="a video of")
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, prompt="there is")
    # Image placeholders, bos, then the prompt's tokens.
    assert processor.prefix_ids() == [processor.image_token_id] * 4 + [tokenizer.bos_token_id] + tokenizer("there is", add_special_tokens=False)["input_ids"]


def test_frame_difference_mode_names_are_normalised(tokenizer):
    for given, stored in ((False, "none"), ("none", "none"), (True, "replace"), ("append", "append")):
        assert VideoBlip2Processor(tokenizer, num_query_tokens=4, frame_differences=given).frame_differences == stored


def test_per_frame_queries_runs_the_qformer_per_frame(tokenizer):
    torch.manual_seed(0)
    model = VideoBlip2ForConditionalGeneration(_config(tokenizer, num_frames=4, frame_fusion="per_frame_queries", use_temporal_embedding=False)).eval()
    pixel_values = torch.randn(2, 3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    embeds = model.get_video_embeds(pixel_values)
    assert model.num_visual_tokens(3) == 12 and embeds.shape == (2, 3 * 4, 32)  # T * Q tokens
    # Frame t's queries see only frame t: they equal the single-frame encoding of that frame.
    for t in range(3):
        torch.testing.assert_close(embeds[:, 4 * t : 4 * (t + 1)], model.get_video_embeds(pixel_values[:, t : t + 1]), atol=1e-5, rtol=0)
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=model.num_visual_tokens(3), image_size=32)
    from hf_vidcap.captioning import caption_token_logprobs, generate_captions, make_generation_config

    greedy, mask = generate_captions(model, processor, embeds, make_generation_config(processor, 5))
    scored = caption_token_logprobs(model, processor, greedy, mask, pixel_values=pixel_values)
    assert scored.shape == greedy.shape and torch.isfinite(scored).all()
    wrong = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)
    with pytest.raises(ValueError, match="4 image placeholders per row but the video gives 12 visual tokens"):
        generate_captions(model, wrong, embeds, make_generation_config(wrong, 5))


@pytest.mark.parametrize("use_temporal_embedding", [False, True])
def test_loading_an_image_checkpoint_reports_only_the_new_video_parameters(tokenizer, tmp_path, use_temporal_embedding):
    config = _config(tokenizer, num_frames=4)
    image_config = Blip2Config(
        vision_config=config.vision_config.to_dict(), qformer_config=config.qformer_config.to_dict(),
        text_config=config.text_config.to_dict(), num_query_tokens=4, image_token_index=config.image_token_index,
    )
    torch.manual_seed(0)
    Blip2ForConditionalGeneration(image_config).save_pretrained(tmp_path)
    video, info = VideoBlip2ForConditionalGeneration.from_pretrained(
        tmp_path, num_frames=8, use_temporal_embedding=use_temporal_embedding, output_loading_info=True
    )
    assert sorted(info["missing_keys"]) == (["temporal_embedding"] if use_temporal_embedding else [])
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert video.config.num_frames == 8 and type(video.config).__name__ == "VideoBlip2Config"
    if use_temporal_embedding:
        assert torch.count_nonzero(video.temporal_embedding) == 0  # starts as the image model


@pytest.mark.parametrize("text", ["opt", "t5"])
def test_default_lora_targets_save_load_and_merge(tokenizer, tmp_path, text):
    from peft import PeftModel, get_peft_model

    from hf_vidcap.captioning import generate_captions, make_generation_config
    from hf_vidcap.models import get_default_lora_config

    torch.manual_seed(0)
    model = VideoBlip2ForConditionalGeneration(_config(tokenizer, text=text, num_frames=4)).eval()
    config = get_default_lora_config(model, init_lora_weights=False)
    assert (config.r, config.lora_alpha, config.lora_dropout) == (8, 16, 0.05)
    peft_model = get_peft_model(model, config).eval()  # no LoRA dropout
    targeted = {n.split(".lora_A")[0] for n, _ in peft_model.named_parameters() if "lora_A" in n}
    # Only the language model's attention q and v (OPT: 2 layers x 2; T5: 2 encoder + 2 x 2 decoder attentions x 2).
    assert all("language_model" in n and "vision_model" not in n and "qformer" not in n for n in targeted)
    assert len(targeted) == (4 if text == "opt" else 12)
    pixel_values, _, _, processor = _inputs(tokenizer)
    embeds = model.get_video_embeds(pixel_values)
    generation = make_generation_config(processor, 6)
    adapted, _ = generate_captions(peft_model, processor, embeds, generation)
    peft_model.save_pretrained(tmp_path)
    torch.manual_seed(0)
    fresh = VideoBlip2ForConditionalGeneration(_config(tokenizer, text=text, num_frames=4)).eval()
    reloaded = PeftModel.from_pretrained(fresh, tmp_path).eval()
    torch.testing.assert_close(generate_captions(reloaded, processor, embeds, generation)[0], adapted)
    merged = reloaded.merge_and_unload()
    torch.testing.assert_close(generate_captions(merged, processor, embeds, generation)[0], adapted)


@pytest.mark.parametrize("variant", ["t5", "per_frame_queries"])
def test_two_step_scst_run(tokenizer, shapes_dataset, tmp_path, variant):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "trainer"))
    from helpers import RecordingReward, make_args

    from hf_vidcap.trainer import VideoSCSTTrainer

    torch.manual_seed(0)
    if variant == "t5":
        config, queries = _config(tokenizer, text="t5", num_frames=8), 4
    else:
        config, queries = _config(tokenizer, num_frames=8, frame_fusion="per_frame_queries"), 8 * 4
    model = VideoBlip2ForConditionalGeneration(config)
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=queries, image_size=32)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    reward = RecordingReward()
    VideoSCSTTrainer(model, reward, make_args(tmp_path), train_dataset=shapes_dataset["train"], processing_class=processor).train()
    assert sorted(len(call["completions"]) for call in reward.calls) == [4, 4, 12, 12]
    assert any((p - before[n]).abs().max() > 0 for n, p in model.named_parameters())


@pytest.mark.parametrize("text", ["opt", "t5"])
def test_k_captions_per_video_share_the_prefix_work_with_the_same_logits_and_gradients(tokenizer, text):
    torch.manual_seed(0)
    model = VideoBlip2ForConditionalGeneration(_config(tokenizer, text=text, num_frames=4)).train()
    pixel_values, _, _, processor = _inputs(tokenizer)
    captions = ["a red circle moves left", "a red circle", "red", "a blue square grows", "a blue square shrinks slowly", "a"]
    ids, mask = processor.pad_captions(processor.caption_ids(captions))  # 2 videos x K = 3, ragged lengths
    prefix = torch.tensor([processor.prefix_ids()] * 6)
    if text == "opt":
        kwargs = {"input_ids": torch.cat([prefix, ids], 1), "attention_mask": torch.cat([torch.ones_like(prefix), mask], 1)}
    else:
        start = torch.zeros_like(ids[:, :1])
        kwargs = {"input_ids": prefix, "decoder_input_ids": torch.cat([start, ids[:, :-1]], 1), "decoder_attention_mask": mask}
    rows = []
    hook = model.language_model.register_forward_pre_hook(lambda m, args, kw: rows.append(kw), with_kwargs=True)

    def run(**visual):
        model.zero_grad()
        logits = model(**visual, **kwargs).logits
        valid = kwargs.get("decoder_attention_mask", kwargs.get("attention_mask"))
        (logits.float().log_softmax(-1).mean(-1) * valid).sum().backward()  # the positions a loss reads
        return logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    shared, shared_grads = run(pixel_values=pixel_values, captions_per_video=3)
    assert shared.shape == (6, kwargs.get("decoder_input_ids", kwargs["input_ids"]).shape[1], len(tokenizer))
    calls = list(rows)
    rows.clear()
    repeated, repeated_grads = run(video_embeds=model.get_video_embeds(pixel_values).repeat_interleave(3, 0))
    # The shared path ran the language model's prefix (OPT) or its encoder (T5) on the 2 videos, not on 6 rows.
    if text == "opt":
        # Then the captions in two groups by length: "red" and "a" (2 tokens with eos), the 4 longer ones (<= 6).
        assert [c["inputs_embeds"].shape[0] if "inputs_embeds" in c else c["input_ids"].shape[0] for c in calls] == [2, 2, 4]
        assert calls[0]["inputs_embeds"].shape[1] == len(processor.prefix_ids())
        assert [c["input_ids"].shape[1] for c in calls[1:]] == [2, ids.shape[1]] == [2, 6]
        # Positions past a row's mask that its group did not run hold zero logits; compare the rest.
        valid = kwargs["attention_mask"].bool()
        shared, repeated = shared[valid], repeated[valid]
    else:
        assert len(calls) == 1 and calls[0]["encoder_outputs"].last_hidden_state.shape[0] == 6
    assert len(rows) == 1 and (rows[0]["inputs_embeds"].shape[0] == 6)
    hook.remove()
    torch.testing.assert_close(shared, repeated, atol=1e-5, rtol=1e-5)
    assert shared_grads.keys() == repeated_grads.keys() and len(shared_grads) > 10
    for name in shared_grads:
        # The tiny random Q-Former has gradients up to 1e11: compare relative to each tensor's scale.
        scale = repeated_grads[name].abs().max().item()
        torch.testing.assert_close(shared_grads[name], repeated_grads[name], atol=1e-5 * max(scale, 1.0), rtol=1e-4, msg=name)


def test_k_captions_per_video_gradients_are_bitwise_repeatable(tokenizer):
    # A seeded run must repeat: the shared prefix's gradient sums each video's K rows in a fixed order. (Selecting
    # a cached row K times summed them with CPU atomic adds, so the demo's XE drifted apart from run to run.)
    # Sized so that the cache's gradient (rows x hidden x prefix) passes PyTorch's parallel grain (32,768 elements).
    torch.manual_seed(0)
    config = get_tiny_video_blip2_config(
        tokenizer, image_size=32, patch_size=8, hidden_size=32, num_query_tokens=8, text_hidden_size=64, num_frames=4
    )
    model = VideoBlip2ForConditionalGeneration(config).train()
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=8, image_size=32)
    videos, k = 64, 4
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, len(tokenizer), (videos * k, 12), generator=g)
    mask = (torch.arange(12)[None] < torch.randint(2, 12, (videos * k, 1), generator=g)).long()
    prefix = torch.tensor([processor.prefix_ids()] * videos * k)
    input_ids, attention_mask = torch.cat([prefix, ids], 1), torch.cat([torch.ones_like(prefix), mask], 1)
    embeds = torch.randn(videos, 8, model.config.text_config.hidden_size, generator=g)
    runs = []
    for _ in range(4):
        model.zero_grad(set_to_none=True)
        video_embeds = embeds.clone().requires_grad_(True)
        logits = model(video_embeds=video_embeds, input_ids=input_ids, attention_mask=attention_mask, captions_per_video=k).logits
        (logits.float().square() * attention_mask[..., None]).mean().backward()
        runs.append([video_embeds.grad] + [p.grad.clone() for p in model.parameters() if p.grad is not None])
    for run in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(runs[0], run))


def test_k_captions_per_video_take_the_general_path_for_labels(tokenizer):
    model = VideoBlip2ForConditionalGeneration(_config(tokenizer, num_frames=4)).eval()
    pixel_values, input_ids, attention_mask, _ = _inputs(tokenizer)
    ids, mask = input_ids.repeat_interleave(2, 0), attention_mask.repeat_interleave(2, 0)
    out = model(pixel_values=pixel_values, input_ids=ids, attention_mask=mask, labels=ids, captions_per_video=2)
    expected = model(pixel_values=pixel_values.repeat_interleave(2, 0), input_ids=ids, attention_mask=mask, labels=ids)
    torch.testing.assert_close(out.loss, expected.loss)
    assert out.logits.shape == expected.logits.shape


def test_length_chunks_split_only_when_it_saves_a_fifth_of_the_positions():
    from hf_vidcap.models.blip2_video.modeling_blip2_video import _length_chunks

    def mask(*lengths, width=10):
        return (torch.arange(width) < torch.tensor(lengths).unsqueeze(1)).long()

    # 4 rows of 2 and 2 rows of 10: one group runs 60 positions, two run 4 * 2 + 2 * 10 = 28.
    (short, short_width), (long, long_width) = _length_chunks(mask(2, 10, 2, 2, 10, 2))
    assert sorted(short.tolist()) == [0, 2, 3, 5] and short_width == 2 and sorted(long.tolist()) == [1, 4] and long_width == 10
    # 9, 10, 10, 10: the best split (9 + 30 = 39 of 40) saves 2.5 %, so one group of every row.
    ((every, width),) = _length_chunks(mask(9, 10, 10, 10))
    assert sorted(every.tolist()) == [0, 1, 2, 3] and width == 10
    ((one, width),) = _length_chunks(mask(3))
    assert one.tolist() == [0] and width == 3
