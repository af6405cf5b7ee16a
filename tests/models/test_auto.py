"""AutoModelForVideoCaptioning / AutoVideoCaptionProcessor: original image checkpoints of each family and saved
hf_vidcap checkpoints load as the family's video captioner, with the frame count the run needs; tiny checkpoints
written by `save_tiny_checkpoint` reload exactly; bad settings name what to fix."""

import json

import pytest
import torch
from transformers import (
    AutoProcessor,
    Blip2Config,
    Blip2ForConditionalGeneration,
    BlipImageProcessor,
    CLIPImageProcessor,
    GitConfig,
    GitForCausalLM,
)

from hf_vidcap import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor
from hf_vidcap.models import (
    OFAForConditionalGeneration,
    VideoBlip2ForConditionalGeneration,
    VideoBlip2Processor,
    VideoGitForCausalLM,
    VideoGitProcessor,
    get_tiny_video_blip2_config,
    get_tiny_video_git_config,
    save_tiny_checkpoint,
)
from hf_vidcap.models.tiny_checkpoints import main as tiny_checkpoints_main


def _image_blip2(tokenizer, path):
    video = get_tiny_video_blip2_config(tokenizer, image_size=32, patch_size=8, hidden_size=32, num_query_tokens=4, text_hidden_size=32)
    config = Blip2Config(
        vision_config=video.vision_config.to_dict(), qformer_config=video.qformer_config.to_dict(),
        text_config=video.text_config.to_dict(), num_query_tokens=4, image_token_index=video.image_token_index,
    )
    torch.manual_seed(0)
    model = Blip2ForConditionalGeneration(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    BlipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    return model


def _image_git(tokenizer, path):
    config = get_tiny_video_git_config(tokenizer, image_size=32).to_dict()
    skip = ("model_type", "architectures", "frame_fusion", "num_image_with_embedding")
    config = GitConfig(**{k: v for k, v in config.items() if k not in skip})  # an image GIT: no temporal embedding
    torch.manual_seed(0)
    model = GitForCausalLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    return model


def test_a_blip2_image_checkpoint_loads_as_the_video_model(tokenizer, tmp_path):
    image = _image_blip2(tokenizer, tmp_path)
    processor = AutoVideoCaptionProcessor.from_pretrained(tmp_path, prompt="a", frame_differences="append")
    assert type(processor) is VideoBlip2Processor
    assert (processor.num_query_tokens, processor.image_size, processor.prompt) == (4, 32, "a")
    model = AutoModelForVideoCaptioning.from_pretrained(
        tmp_path, num_frames=processor.num_model_frames(4), config_overrides={"use_temporal_embedding": True}
    )
    assert type(model) is VideoBlip2ForConditionalGeneration
    assert model.config.num_frames == 7 and model.temporal_embedding.shape[1] == 7  # 4 frames + 3 differences
    for name, param in image.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], param, rtol=0, atol=0)
    # Without a temporal embedding nothing limits the frame count: 12 frames go through a config that says 8.
    plain = AutoModelForVideoCaptioning.from_pretrained(tmp_path, num_frames=12).eval()
    assert not plain.config.use_temporal_embedding and plain.config.num_frames == 8
    assert plain.get_video_embeds(torch.randn(1, 12, 3, 32, 32)).shape[0] == 1


def test_a_git_image_checkpoint_gets_a_temporal_embedding_per_frame(tokenizer, tmp_path):
    image = _image_git(tokenizer, tmp_path)
    assert image.config.num_image_with_embedding is None
    processor = AutoVideoCaptionProcessor.from_pretrained(tmp_path, prompt="")
    assert type(processor) is VideoGitProcessor and processor.image_size == 32
    model = AutoModelForVideoCaptioning.from_pretrained(tmp_path, num_frames=3)
    assert type(model) is VideoGitForCausalLM and model.config.num_image_with_embedding == 3
    assert len(model.git.img_temporal_embedding) == 3
    torch.testing.assert_close(model.output.weight, image.output.weight, rtol=0, atol=0)


@pytest.mark.parametrize("model_type", ["video_blip2", "video_git", "ofa"])
def test_tiny_checkpoints_reload_exactly_through_the_auto_classes(tmp_path, model_type):
    written, written_processor = save_tiny_checkpoint(model_type, tmp_path, num_frames=4, frame_differences="append")
    processor = AutoVideoCaptionProcessor.from_pretrained(tmp_path)
    assert type(processor) is type(written_processor) and processor.to_dict() == written_processor.to_dict()
    model = AutoModelForVideoCaptioning.from_pretrained(tmp_path, num_frames=processor.num_model_frames(4))
    assert type(model) is type(written)
    assert model.state_dict().keys() == written.state_dict().keys()
    for name, param in written.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], param, rtol=0, atol=0)
    # Buffers that are not saved (OFA's relative-position buckets) are rebuilt: the reloaded model computes the same.
    loaded_buffers = dict(model.named_buffers())
    for name, buffer in written.named_buffers():
        torch.testing.assert_close(loaded_buffers[name], buffer, rtol=0, atol=0, msg=name)
    video = torch.randn(2, processor.num_model_frames(4), 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model.eval().get_video_embeds(video), written.eval().get_video_embeds(video), rtol=0, atol=0)
    if model_type == "ofa":  # one embedding shared by encoder, decoder and output layer after the round trip
        assert isinstance(model, OFAForConditionalGeneration)
        pointers = {model.model.shared.weight.data_ptr(), model.model.encoder.embed_tokens.weight.data_ptr(), model.lm_head.weight.data_ptr()}
        assert len(pointers) == 1
    # transformers' own AutoProcessor finds the same processor, which follows the processor conventions.
    auto = AutoProcessor.from_pretrained(tmp_path)
    assert type(auto) is type(processor) and auto.to_dict() == processor.to_dict()
    frames = torch.randint(0, 255, (4, 64, 64, 3), dtype=torch.uint8).numpy()
    inputs = auto(videos=[frames], captions=["a red circle"], return_tensors="pt")
    assert inputs["pixel_values"].shape == (1, processor.num_model_frames(4), 3, 64, 64) and inputs["caption_ids"].shape[0] == 1
    with pytest.raises(ValueError, match="return_tensors .* must be 'pt'"):
        auto(captions=["a red circle"], return_tensors="np")
    assert auto.batch_decode(inputs["caption_ids"]) == ["a red circle"] and auto.decode(inputs["caption_ids"][0]) == "a red circle"
    if model_type != "ofa":  # frame-limited models: the checkpoint holds 7 frame slots (4 frames + 3 differences)
        with pytest.raises(ValueError, match=r"takes at most 7 frames per video .* feeds it 9 .* config_overrides="):
            AutoModelForVideoCaptioning.from_pretrained(tmp_path, num_frames=9)
        assert getattr(AutoModelForVideoCaptioning.from_pretrained(tmp_path, num_frames=2).config, model.frames_config_key) == 7


def test_the_command_writes_a_checkpoint(tmp_path, capsys):
    tiny_checkpoints_main(["video_git", str(tmp_path), "--num_frames", "2", "--seed", "1"])
    assert "wrote a tiny random VideoGitForCausalLM" in capsys.readouterr().out
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] == "video_git"
    with pytest.raises(SystemExit):
        tiny_checkpoints_main(["gpt2", str(tmp_path)])


def test_bad_settings_are_named(tokenizer, tmp_path):
    save_tiny_checkpoint("video_git", tmp_path / "git", num_frames=2)
    with pytest.raises(ValueError, match=r"VideoGitConfig .* has no field \['use_temporal_embedding'\]"):
        AutoModelForVideoCaptioning.from_pretrained(tmp_path / "git", config_overrides={"use_temporal_embedding": True})
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match=r"is a 'bert' checkpoint; the video captioners load .*AutoModelForVideoCaptioning.register"):
        AutoModelForVideoCaptioning.from_pretrained(tmp_path / "bert")
    with pytest.raises(OSError, match="no video captioner checkpoint at .*python -m hf_vidcap.models.tiny_checkpoints"):
        AutoModelForVideoCaptioning.from_pretrained(tmp_path / "missing")
    with pytest.raises(TypeError, match="GitForCausalLM must inherit hf_vidcap.models.VideoCaptionerMixin"):
        AutoModelForVideoCaptioning.register("my_git", GitForCausalLM, VideoGitProcessor)
    with pytest.raises(ValueError, match="model_type ('|\")video_git('|\") is already registered"):
        AutoModelForVideoCaptioning.register("video_git", VideoBlip2ForConditionalGeneration, VideoBlip2Processor)
    with pytest.raises(ValueError, match=r"model_type \('gpt2'\) must be one of \['video_blip2', 'video_git', 'ofa', 'qwen2_vl', 'qwen2_5_vl', 'qwen3_vl', 'llava_onevision', 'llava_next_video', 'smolvlm', 'instructblipvideo'\]"):
        save_tiny_checkpoint("gpt2", tmp_path / "x")


def test_a_user_captioner_registers(tokenizer, tmp_path):
    from hf_vidcap.models.auto import VIDEO_CAPTIONERS

    class MyCaptioner(VideoGitForCausalLM):
        pass

    save_tiny_checkpoint("video_git", tmp_path, num_frames=2)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "my_captioner"}))
    try:
        AutoModelForVideoCaptioning.register("my_captioner", MyCaptioner, VideoGitProcessor)
        assert AutoModelForVideoCaptioning.model_class(tmp_path) is MyCaptioner
        assert type(AutoModelForVideoCaptioning.from_pretrained(tmp_path, num_frames=2)) is MyCaptioner
    finally:
        VIDEO_CAPTIONERS.pop("my_captioner", None)
