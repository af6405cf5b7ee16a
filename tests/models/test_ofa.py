"""OFAForConditionalGeneration: tiny-config forward / loss / cached decoding / generation, the original checkpoints'
key conversion, the tokenizer's extra tokens, LoRA, and an SCST run through the trainer."""

import re

import pytest
import torch

from hf_vidcap.captioning import caption_token_logprobs, generate_captions, make_generation_config
from hf_vidcap.data.shapes import shapes_vocabulary
from hf_vidcap.models import (
    OFAConfig,
    OFAForConditionalGeneration,
    OFAProcessor,
    build_ofa_tokenizer,
    convert_ofa_state_dict,
    get_default_lora_config,
)
from hf_vidcap.models.ofa import location_token


@pytest.fixture(scope="module")
def bpe_tokenizer():
    """A small byte-level BPE in BART's layout (<s>=0, <pad>=1, </s>=2, <unk>=3) with OFA's extra tokens."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    words = shapes_vocabulary()
    bpe.train_from_iterator([" ".join(words)] * 4 + ["what does the image describe?"], vocab_size=400, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", pad_token="<pad>", eos_token="</s>", unk_token="<unk>", mask_token="<mask>")
    return build_ofa_tokenizer(tokenizer, num_codes=16, num_bins=8)


def _model(tokenizer, seed=0, **kwargs):
    torch.manual_seed(seed)
    settings = dict(
        vocab_size=len(tokenizer), d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, resnet_type="resnet50", image_size=32,
        max_position_embeddings=64, token_bucket_size=16, image_bucket_size=8, dropout=0.0,
    )
    model = OFAForConditionalGeneration(OFAConfig(**{**settings, **kwargs})).eval()
    with torch.no_grad():  # relative biases start at zero in OFA; make them matter here
        for module in (model.model.encoder, model.model.decoder):
            for table in [*module.token_rel_pos_table_list, *module.image_rel_pos_table_list]:
                table.weight.normal_(std=0.5)
    return model


def _video(batch=2, frames=3, seed=0):
    return torch.randn(batch, frames, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_tokenizer_layout_and_processor(bpe_tokenizer):
    base = len(bpe_tokenizer) - 16 - 8
    assert bpe_tokenizer.convert_tokens_to_ids("<code_0>") == base and bpe_tokenizer.convert_tokens_to_ids("<bin_0>") == base + 16
    assert build_ofa_tokenizer(bpe_tokenizer, num_codes=16, num_bins=8) is bpe_tokenizer and len(bpe_tokenizer) == base + 24
    assert location_token(0.0) == "<bin_0>" and location_token(1.0) == "<bin_999>"
    processor = OFAProcessor(bpe_tokenizer, image_size=32)
    prefix = processor.prefix_ids()
    assert prefix[0] == bpe_tokenizer.bos_token_id and prefix[-1] == bpe_tokenizer.eos_token_id
    assert bpe_tokenizer.decode(prefix[1:-1]) == " what does the image describe?"
    pixel_values = processor.preprocess_videos([torch.full((2, 16, 16, 3), 255, dtype=torch.uint8).numpy()])
    assert pixel_values.shape == (1, 2, 3, 32, 32) and torch.allclose(pixel_values, torch.ones(1))  # (1 - 0.5) / 0.5
    one_video = torch.zeros((2, 16, 16, 3), dtype=torch.uint8).numpy()
    assert processor.preprocess_videos(one_video).shape == (1, 2, 3, 32, 32)  # a single (T, H, W, C) array
    assert processor.decode_captions(torch.tensor([processor.caption_ids(["a red circle"])[0]])) == ["a red circle"]


def test_forward_loss_and_fusion_modes(bpe_tokenizer):
    model = _model(bpe_tokenizer)
    processor = OFAProcessor(bpe_tokenizer, image_size=32)
    assert model.get_video_embeds(_video()).shape == (2, 3 * 4, 32)  # T frames x (32 / 16)^2 patches
    assert _model(bpe_tokenizer, frame_fusion="mean").get_video_embeds(_video()).shape == (2, 4, 32)
    prefix = torch.tensor([processor.prefix_ids()] * 2)
    labels, mask = processor.pad_captions(processor.caption_ids(["a red circle moves left", "a blue square"]))
    labels = labels.masked_fill(mask == 0, -100)
    out = model(input_ids=prefix, pixel_values=_video(), labels=labels)
    assert out.logits.shape == (*labels.shape, len(bpe_tokenizer))
    by_hand = torch.nn.functional.cross_entropy(out.logits.reshape(-1, out.logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    torch.testing.assert_close(out.loss, by_hand)
    # Frames and image positions matter: other frames change the output.
    other = model(input_ids=prefix, pixel_values=_video(seed=1), labels=labels).logits
    assert (other - out.logits).abs().max() > 1e-4
    with pytest.raises(ValueError, match="config.image_size is 32"):
        model.get_video_embeds(torch.zeros(1, 1, 3, 48, 48))


def test_cached_decoding_matches_the_full_forward(bpe_tokenizer):
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    model = _model(bpe_tokenizer)
    processor = OFAProcessor(bpe_tokenizer, image_size=32)
    prefix = torch.tensor([processor.prefix_ids()] * 2)
    decoder_ids = torch.randint(5, len(bpe_tokenizer), (2, 7), generator=torch.Generator().manual_seed(3))
    decoder_ids[:, 0] = model.config.decoder_start_token_id
    embeds = model.get_video_embeds(_video())
    full = model(input_ids=prefix, video_embeds=embeds, decoder_input_ids=decoder_ids).logits
    encoder_outputs = model.model.encoder(prefix, None, embeds)
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    steps = []
    for t in range(decoder_ids.shape[1]):
        out = model(encoder_outputs=encoder_outputs, decoder_input_ids=decoder_ids[:, t : t + 1], past_key_values=cache, use_cache=True)
        steps.append(out.logits)
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=0)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_generate_decodes_one_new_token_per_step_from_its_cache(bpe_tokenizer, num_beams):
    # transformers 5.24 renamed generate's cache keyword (past_key_values -> cache); a model that reads only the old
    # name still decodes correctly but re-reads the whole prefix every step. Count what the decoder is given.
    model = _model(bpe_tokenizer)
    processor = OFAProcessor(bpe_tokenizer, image_size=32)
    lengths = []
    hook = model.model.decoder.register_forward_pre_hook(lambda module, args: lengths.append(args[0].shape[1]))
    try:
        ids = model.generate(
            video_embeds=model.get_video_embeds(_video()), input_ids=torch.tensor([processor.prefix_ids()] * 2),
            generation_config=make_generation_config(processor, 6, num_beams=num_beams, min_new_tokens=6),
        )
    finally:
        hook.remove()
    assert ids.shape[1] == 7  # the start token + 6 new tokens
    assert lengths == [1] * 6  # the first step reads the start token, every later one only the newest token


def test_generation_modes_and_scoring(bpe_tokenizer):
    model = _model(bpe_tokenizer)
    processor = OFAProcessor(bpe_tokenizer, image_size=32)
    embeds = model.get_video_embeds(_video())
    greedy, mask = generate_captions(model, processor, embeds, make_generation_config(processor, 6))
    beam, _ = generate_captions(model, processor, embeds, make_generation_config(processor, 6, num_beams=3))
    sampled, sampled_mask = generate_captions(model, processor, embeds, make_generation_config(processor, 6, do_sample=True, num_return_sequences=3))
    assert greedy.shape[0] == 2 and beam.shape[0] == 2 and sampled.shape[0] == 6
    # Re-scoring the greedy caption teacher-forced gives the cached decode's own log-probs.
    config = make_generation_config(processor, 6, output_logits=True, return_dict_in_generate=True)
    prefix = torch.tensor([processor.prefix_ids()] * 2)
    out = model.generate(video_embeds=embeds, input_ids=prefix, generation_config=config)
    steps = torch.log_softmax(torch.stack(out.logits, 1)[:, : greedy.shape[1]], -1).gather(-1, greedy.unsqueeze(-1)).squeeze(-1)
    scored = caption_token_logprobs(model, processor, greedy, mask, video_embeds=embeds)
    torch.testing.assert_close(scored, steps * mask, atol=1e-5, rtol=0)
    once = caption_token_logprobs(model, processor, sampled[:4], sampled_mask[:4], pixel_values=_video()[:2], captions_per_video=2)
    copies = caption_token_logprobs(model, processor, sampled[:4], sampled_mask[:4], pixel_values=_video()[:2].repeat_interleave(2, 0))
    torch.testing.assert_close(once, copies, atol=1e-5, rtol=0)


def _to_original_names(state_dict: dict, config: OFAConfig) -> dict:
    """The test's own rendering of a state dict in the OFA-Sys port's key format (the inverse of the conversion,
    written independently), with the buffers the port saves."""
    from hf_vidcap.models.ofa.modeling_ofa import image_relative_buckets, token_relative_buckets

    original = {}
    for key, value in state_dict.items():
        if key == "lm_head.weight":
            original["decoder.output_projection.weight"] = value
            continue
        if key == "model.shared.weight":
            original["encoder.embed_tokens.weight"] = original["decoder.embed_tokens.weight"] = value
            continue
        if ".embed_tokens." in key:
            continue
        key = key.removeprefix("model.").replace("encoder.image_backbone.", "encoder.embed_images.")
        key = re.sub(r"\.encoder_attn(_layer_norm|_mid_layer_norm)?\.", lambda m: f".cross_attn{m.group(1) or ''}.", key)
        original[key] = value
    for side in ("encoder", "decoder"):
        original[f"{side}.token_rp_bucket"] = token_relative_buckets(config.token_bucket_size, config.max_position_embeddings)
        original[f"{side}.image_rp_bucket"] = image_relative_buckets(config.image_bucket_size)
    original["decoder.image_position_idx"] = torch.arange(10)
    return original


def test_original_checkpoint_keys_convert_and_load_exactly(bpe_tokenizer):
    source = _model(bpe_tokenizer, seed=1)
    original = _to_original_names(source.state_dict(), source.config)
    assert "decoder.layers.0.cross_attn.q_proj.weight" in original and "encoder.embed_images.layer3.0.downsample.0.weight" in original
    target = _model(bpe_tokenizer, seed=2)
    result = target.load_state_dict(convert_ofa_state_dict(original), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    processor = OFAProcessor(bpe_tokenizer, image_size=32)
    prefix = torch.tensor([processor.prefix_ids()] * 2)
    decoder_ids = torch.zeros(2, 3, dtype=torch.long)
    torch.testing.assert_close(
        target(input_ids=prefix, pixel_values=_video(), decoder_input_ids=decoder_ids).logits,
        source(input_ids=prefix, pixel_values=_video(), decoder_input_ids=decoder_ids).logits,
    )
    bad = dict(original)
    bad["decoder.embed_tokens.weight"] = bad["decoder.embed_tokens.weight"] + 1
    with pytest.raises(ValueError, match="are the shared token embedding but hold different values"):
        convert_ofa_state_dict(bad)


def test_lora_and_a_two_step_scst_run(bpe_tokenizer, tmp_path, shapes_dataset):
    import sys
    from pathlib import Path

    from peft import PeftModel, get_peft_model

    model = _model(bpe_tokenizer)
    processor = OFAProcessor(bpe_tokenizer, image_size=32)
    peft_model = get_peft_model(model, get_default_lora_config(model, init_lora_weights=False)).eval()  # no LoRA dropout
    targeted = {n.split(".lora_A")[0] for n, _ in peft_model.named_parameters() if "lora_A" in n}
    assert len(targeted) == 2 * 2 + 2 * 4  # encoder q,v x 2 layers; decoder self+cross q,v x 2 layers
    embeds = model.get_video_embeds(_video())
    generation = make_generation_config(processor, 5)
    adapted, _ = generate_captions(peft_model, processor, embeds, generation)
    peft_model.save_pretrained(tmp_path / "adapter")
    reloaded = PeftModel.from_pretrained(_model(bpe_tokenizer), tmp_path / "adapter").eval()
    torch.testing.assert_close(generate_captions(reloaded, processor, embeds, generation)[0], adapted)
    torch.testing.assert_close(generate_captions(reloaded.merge_and_unload(), processor, embeds, generation)[0], adapted)

    sys.path.insert(0, str(Path(__file__).parents[1] / "trainer"))
    from helpers import RecordingReward, make_args

    from hf_vidcap.trainer import VideoSCSTTrainer

    fresh = _model(bpe_tokenizer)
    fresh.train()
    before = {n: p.detach().clone() for n, p in fresh.named_parameters()}
    reward = RecordingReward()
    VideoSCSTTrainer(fresh, reward, make_args(tmp_path / "scst"), train_dataset=shapes_dataset["train"], processing_class=processor).train()
    assert sorted(len(call["completions"]) for call in reward.calls) == [4, 4, 12, 12]
    assert any((p - before[n]).abs().max() > 0 for n, p in fresh.named_parameters())


@pytest.fixture(scope="module")
def release_repo(tmp_path_factory):
    """A repository in the OFA-Sys release layout (tests/models/ofa_release_layout.py; the Hub round trip is
    tests/hub/test_hub.py::test_ofa_release_checkpoint_loads_from_its_hub_repository_and_saves_in_our_layout)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from ofa_release_layout import write_ofa_release_repo

    folder = tmp_path_factory.mktemp("ofa_release")
    write_ofa_release_repo(str(folder), shapes_vocabulary())
    return folder


def test_release_config_gets_the_release_resolution_and_drops_port_only_fields():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from ofa_release_layout import release_config

    sizes = {"tiny": (256, 4, "resnet50", 256), "medium": (512, 4, "resnet101", 256), "base": (768, 6, "resnet101", 384), "large": (1024, 12, "resnet152", 480)}
    for name, (d_model, layers, resnet, resolution) in sizes.items():
        raw = release_config(59457, d_model=d_model, layers=layers, heads=8, resnet_type=resnet)
        config = OFAConfig.from_dict(raw)
        assert config.image_size == resolution, name
        assert config.use_cache and config.frame_fusion == "concat" and not hasattr(config, "encoder_layerdrop")
        assert OFAConfig.from_dict(raw, image_size=480).image_size == 480
    with pytest.raises(ValueError, match="entangle_position_embedding=True"):
        OFAConfig.from_dict({**release_config(100), "entangle_position_embedding": True})
    with pytest.raises(ValueError, match="share_decoder_input_output_embed=False"):
        OFAConfig.from_dict({**release_config(100), "share_decoder_input_output_embed": False})


def test_release_checkpoint_dtype_and_clear_errors(release_repo, tmp_path):
    import shutil

    model = OFAForConditionalGeneration.from_pretrained(release_repo, image_size=32, dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16} and not model.training
    with pytest.raises(TypeError, match=r"\[.output_loading_info.\]"):
        OFAForConditionalGeneration.from_pretrained(release_repo, image_size=32, output_loading_info=True)
    broken = tmp_path / "broken"
    shutil.copytree(release_repo, broken)
    state = torch.load(broken / "pytorch_model.bin", weights_only=True)
    del state["decoder.layers.1.cross_attn.q_proj.weight"]
    torch.save(state, broken / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"missing \['model.decoder.layers.1.encoder_attn.q_proj.weight'\]"):
        OFAForConditionalGeneration.from_pretrained(broken, image_size=32)
    (broken / "pytorch_model.bin").unlink()
    with pytest.raises(OSError, match="original OFA config.json but none of"):
        OFAForConditionalGeneration.from_pretrained(broken, image_size=32)


def test_a_frozen_batchnorm_backbone_is_a_fixed_function_in_training(bpe_tokenizer, tmp_path, shapes_dataset):
    """A frozen ResNet stem runs in eval mode during training: its BatchNorm statistics do not move and the features
    cached in training are those evaluation computes (in train mode they were each batch's own normalisation)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "trainer"))
    from helpers import RecordingReward, make_args

    from hf_vidcap.data import VideoCaptionCollator
    from hf_vidcap.trainer import VideoSCSTTrainer

    model = _model(bpe_tokenizer)
    model.model.encoder.image_backbone.requires_grad_(False)
    model.train()
    stem = model.model.encoder.image_backbone
    statistics = {n: b.clone() for n, b in stem.named_buffers()}
    processor = OFAProcessor(bpe_tokenizer, image_size=32)
    train = shapes_dataset["train"].select(range(4))
    collator = VideoCaptionCollator(processor, num_frames=2)
    args = make_args(tmp_path, max_steps=2, xe_warmup_steps=1, cache_video_features=True, per_device_train_batch_size=4)
    trainer = VideoSCSTTrainer(model, RecordingReward(), args, train_dataset=train, processing_class=processor, data_collator=collator)
    trainer.train()
    assert all(torch.equal(b, statistics[n]) for n, b in stem.named_buffers())
    assert model.training and stem.training  # the modes are restored after each use
    batch = collator([train[i] for i in range(4)])
    with torch.no_grad():
        expected = model.eval().get_frame_features(batch["pixel_values"])
    cached = torch.stack([trainer._feature_cache[key] for key in batch["columns"]["video_id"]])
    torch.testing.assert_close(cached, expected)
