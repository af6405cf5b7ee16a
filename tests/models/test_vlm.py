"""Any transformers video VLM as a captioner (`as_video_captioner` + `VideoVLMProcessor`), on tiny random Qwen2-VL and
Qwen2.5-VL configs built offline: the contract's checks, teacher-forced log-probabilities equal to generate's, K
captions from one video encoding equal to K separate ones, one vision-tower pass per video per SCST step, LoRA
trains, save / reload."""

import re

import numpy as np
import pytest
import torch

from hf_vidcap.captioning import caption_token_logprobs, generate_captions, make_generation_config
from hf_vidcap.models import check_video_captioner
from hf_vidcap.models.vlm import VideoVLMProcessor, as_video_captioner, supported_vlm_types
from hf_vidcap.models.vlm.tiny import create_tiny_video_vlm

FAMILIES = ["qwen2_vl", "qwen2_5_vl", "qwen3_vl", "llava_onevision", "llava_next_video", "smolvlm", "instructblipvideo"]


def videos(count: int, seed: int = 0, frames: int = 4, size: int = 56):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8) for _ in range(count)]


@pytest.fixture(params=FAMILIES)
def vlm(request):
    model, processor = create_tiny_video_vlm(request.param)
    return model.eval(), processor


def test_the_captioner_contract_holds(vlm):
    model, processor = vlm
    check_video_captioner(model, processor)
    assert any(model.vision_model is module for module in model.visual_modules().values())
    assert "describe this video" in processor.tokenizer.decode(processor.prefix_ids())
    # the prompt holds one placeholder per video token the model's encoder gives (Qwen: 2 x 2 x 2 merged patches of
    # 4 frames of 56 px; Qwen3-VL: one merged patch per temporal pair, each after its timestamp; LLaVA-OneVision: 2 x 2
    # pooled patches per frame and a newline; LLaVA-NeXT-Video: 2 x 2 pooled)
    prefix = processor.prefix_ids()
    placeholders = prefix.count(processor.image_token_id)
    assert placeholders == model.get_video_embeds(processor.preprocess_videos(videos(1))).shape[1] == {"qwen2_vl": 8, "qwen2_5_vl": 8, "qwen3_vl": 2, "llava_onevision": 17, "llava_next_video": 16, "smolvlm": 16, "instructblipvideo": 8}[model.config.model_type]


def test_teacher_forced_logprobs_equal_the_scores_generate_returned(vlm):
    model, processor = vlm
    pixel_values = processor.preprocess_videos(videos(2))
    embeds = model.get_video_embeds(pixel_values)
    prefix = torch.tensor([processor.prefix_ids()] * 2)
    config = make_generation_config(processor, 6, output_logits=True, return_dict_in_generate=True)
    with torch.no_grad():
        out = model.generate(video_embeds=embeds, input_ids=prefix, generation_config=config)
    generated = out.sequences[:, prefix.shape[1] :]
    from_generate = torch.stack([torch.log_softmax(step.float(), dim=-1) for step in out.logits], dim=1)
    from_generate = from_generate.gather(-1, generated.unsqueeze(-1)).squeeze(-1)
    mask = torch.ones_like(generated)
    with torch.no_grad():
        teacher_forced = caption_token_logprobs(model, processor, generated, mask, pixel_values=pixel_values)
    assert torch.allclose(teacher_forced, from_generate, atol=1e-4)


def test_k_captions_from_one_encoding_equal_k_separate_generations(vlm):
    model, processor = vlm
    pixel_values = processor.preprocess_videos(videos(2, seed=1))
    k = 3
    config = make_generation_config(processor, 5, do_sample=True, num_return_sequences=k)
    torch.manual_seed(7)
    shared, _ = generate_captions(model, processor, model.get_video_embeds(pixel_values), config)
    torch.manual_seed(7)
    separate, _ = generate_captions(model, processor, model.get_video_embeds(pixel_values.repeat_interleave(k, 0)), make_generation_config(processor, 5, do_sample=True))
    assert torch.equal(shared, separate)
    ids, mask = processor.pad_captions(processor.caption_ids(["a red circle moves left", "a blue square", "a cross"] * 2))
    with torch.no_grad():
        once = caption_token_logprobs(model, processor, ids, mask, pixel_values=pixel_values, captions_per_video=k)
        copies = caption_token_logprobs(model, processor, ids, mask, pixel_values=pixel_values.repeat_interleave(k, 0))
    assert torch.allclose(once, copies, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_scst_with_lora_trains_every_adapter_with_one_vision_pass_per_step_and_saves_adapter_and_merged(tmp_path, shapes_dir, family):
    from peft import LoraConfig

    from hf_vidcap.data import VideoCaptionCollator, load_shapes_dataset
    from hf_vidcap.models import get_default_lora_config
    from hf_vidcap.rewards import get_cider_d_reward
    from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer

    model, processor = create_tiny_video_vlm(family)
    model.save_pretrained(tmp_path / "base")  # the base checkpoint the adapter is loaded onto below
    train = load_shapes_dataset(shapes_dir)["train"].select(range(8))
    calls = []
    model.vision_model.register_forward_hook(lambda *args: calls.append(1))
    args = VideoSCSTConfig(str(tmp_path), max_steps=2, per_device_train_batch_size=4, num_generations=3, num_frames=4, use_cpu=True, report_to="none", logging_steps=1, max_completion_length=6, learning_rate=1e-2, save_strategy="no")
    lora = get_default_lora_config(model, r=4)
    import re

    targeted = [name for name, _ in model.named_modules() if re.fullmatch(lora.target_modules, name)]
    assert isinstance(lora, LoraConfig) and targeted and all(("language_model" in name or "text_model" in name) and name.endswith(("q_proj", "v_proj")) for name in targeted)
    trainer = VideoSCSTTrainer(model, [get_cider_d_reward(train["captions"])], args, train, None, processor, VideoCaptionCollator(processor, num_frames=4), peft_config=lora)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    assert before and all(not torch.equal(before[n], p.detach()) for n, p in trainer.model.named_parameters() if p.requires_grad)
    assert len(calls) == 2  # one pass over the batch's 4 videos per step: rollouts and the loss share it

    # The adapter on a fresh copy of the base checkpoint, and the merged model, caption as the trained model does.
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    pixel_values = processor.preprocess_videos(videos(2, seed=5, size=processor.image_size))
    config = make_generation_config(processor, 6)

    def captions(captioner):
        captioner.eval()
        return generate_captions(captioner, processor, captioner.get_video_embeds(pixel_values) if hasattr(captioner, "get_video_embeds") else captioner.get_base_model().get_video_embeds(pixel_values), config)[0]

    def scores(captioner, ids):  # teacher-forced log-probabilities: continuous, so a missing adapter shows
        with torch.no_grad():
            return caption_token_logprobs(captioner, processor, ids, torch.ones_like(ids), pixel_values=pixel_values)

    trained = captions(trainer.model)
    trained_scores = scores(trainer.model, trained)
    trainer.save_model(str(tmp_path / "adapter"))
    base = as_video_captioner(AutoModelForImageTextToText.from_pretrained(tmp_path / "base"), processor)
    assert not torch.allclose(scores(base, trained), trained_scores, atol=1e-4)  # the adapter matters
    adapted = PeftModel.from_pretrained(base, tmp_path / "adapter")
    assert torch.equal(captions(adapted), trained) and torch.allclose(scores(adapted, trained), trained_scores, atol=1e-5)
    trainer.model.merge_and_unload().save_pretrained(tmp_path / "merged")
    merged = as_video_captioner(AutoModelForImageTextToText.from_pretrained(tmp_path / "merged"), processor)
    assert torch.equal(captions(merged), trained) and torch.allclose(scores(merged, trained), trained_scores, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_saved_checkpoint_reloads_as_the_original_class_and_captions_the_same(tmp_path, family):
    from transformers import AutoModelForImageTextToText

    model, processor = create_tiny_video_vlm(family)
    model.eval()
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    plain = AutoModelForImageTextToText.from_pretrained(tmp_path)
    assert type(plain).__name__ == type(model)._vlm_base.__name__
    reloaded_processor = VideoVLMProcessor.from_pretrained(tmp_path)
    assert reloaded_processor.num_frames == 4 and reloaded_processor.prefix_ids() == processor.prefix_ids()
    reloaded = as_video_captioner(plain, reloaded_processor).eval()
    pixel_values = processor.preprocess_videos(videos(2, seed=3))
    config = make_generation_config(processor, 5)
    first, _ = generate_captions(model, processor, model.get_video_embeds(pixel_values), config)
    second, _ = generate_captions(reloaded, reloaded_processor, reloaded.get_video_embeds(pixel_values), config)
    assert torch.equal(first, second)


def test_models_and_processors_without_video_input_are_named():
    from transformers import BertConfig, BertModel

    supported = ["instructblipvideo", "llava_next_video", "llava_onevision", "qwen2_5_vl", "qwen2_vl", "qwen3_vl", "smolvlm"]
    assert supported_vlm_types() == supported
    with pytest.raises(ValueError, match="not a supported video VLM; supported: " + re.escape(str(supported))):
        as_video_captioner(BertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)), None)

    class NoVideo:
        video_processor = None
        tokenizer = None

    with pytest.raises(ValueError, match="has no video processor"):
        VideoVLMProcessor(NoVideo(), num_frames=4)
    _, processor = create_tiny_video_vlm("qwen2_vl")
    with pytest.raises(ValueError, match="video 0 has 3 frames; this processor was set up for num_frames=4"):
        processor.preprocess_videos(videos(1, frames=3))


def test_a_captioner_without_its_processor_says_so_and_the_trainer_hands_it_over(tmp_path):
    from transformers import AutoModelForImageTextToText

    from hf_vidcap.models import configure_captioner

    model, processor = create_tiny_video_vlm("qwen2_vl")
    model.save_pretrained(tmp_path)
    bare = as_video_captioner(AutoModelForImageTextToText.from_pretrained(tmp_path))
    pixel_values = processor.preprocess_videos(videos(1))
    with pytest.raises(ValueError, match="its video layout is unknown; call as_video_captioner"):
        bare.get_video_embeds(pixel_values)
    configure_captioner(bare, processor)  # what VideoSCSTTrainer and generate_for_dataset do with their processor
    assert bare.get_video_embeds(pixel_values).shape == (1, 8, 32)


def test_beam_search_of_a_batch_equals_each_video_alone(vlm):
    model, processor = vlm
    pixel_values = processor.preprocess_videos(videos(2, seed=1))
    config = make_generation_config(processor, 5, num_beams=3, num_return_sequences=2)
    both, _ = generate_captions(model, processor, model.get_video_embeds(pixel_values), config)
    alone, _ = generate_captions(model, processor, model.get_video_embeds(pixel_values[1:]), config)
    assert torch.equal(both[2:, : alone.shape[1]], alone)  # the encoded videos follow their beams
