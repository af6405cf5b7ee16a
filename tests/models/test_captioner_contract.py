"""check_video_captioner on every captioner we ship, and on models that break the contract."""

import pytest
import torch
from test_conventions import _blip2, _ofa_tokenizer
from transformers import GitForCausalLM

from hf_vidcap.models import (
    OFAConfig,
    OFAForConditionalGeneration,
    OFAProcessor,
    VideoBlip2Processor,
    VideoGitForCausalLM,
    VideoGitProcessor,
    check_video_captioner,
    create_tiny_video_git,
)


def _ofa():
    tokenizer = _ofa_tokenizer()
    torch.manual_seed(0)
    config = OFAConfig(
        vocab_size=len(tokenizer), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, image_size=32, max_position_embeddings=64,
        token_bucket_size=16, image_bucket_size=8, dropout=0.0,
    )
    return OFAForConditionalGeneration(config), OFAProcessor(tokenizer, image_size=32)


@pytest.mark.parametrize("name", ["blip2", "blip2_per_frame", "git_concat", "git_mean", "ofa"])
def test_our_captioners_pass_the_contract(tokenizer, name):
    if name.startswith("blip2"):
        model, processor = _blip2(tokenizer, "per_frame_queries" if name.endswith("per_frame") else "concat_patches")
        processor = VideoBlip2Processor(tokenizer, num_query_tokens=model.num_visual_tokens(2), image_size=32)
    elif name.startswith("git"):
        torch.manual_seed(0)
        model = create_tiny_video_git(tokenizer, num_frames=2, frame_fusion=name.split("_")[1])
        processor = VideoGitProcessor(tokenizer, image_size=32, prompt="a")
    else:
        model, processor = _ofa()
    check_video_captioner(model, processor, num_frames=2)


def test_a_model_outside_the_contract_is_named(tokenizer):
    torch.manual_seed(0)
    video_git = create_tiny_video_git(tokenizer, num_frames=2)
    plain = GitForCausalLM(video_git.config)
    with pytest.raises(AssertionError, match="GitForCausalLM does not inherit hf_vidcap.models.VideoCaptionerMixin"):
        check_video_captioner(plain, VideoGitProcessor(tokenizer, image_size=32, prompt="a"))


def test_a_broken_captions_per_video_is_caught(tokenizer):
    class Shuffled(VideoGitForCausalLM):
        """Repeats the K captions' videos in the wrong order (tile instead of repeat_interleave)."""

        def forward(self, *args, video_embeds=None, captions_per_video=1, pixel_values=None, **kwargs):
            if captions_per_video > 1 and pixel_values is not None:
                video_embeds = self.get_video_embeds(pixel_values).repeat(captions_per_video, 1, 1)
                pixel_values, captions_per_video = None, 1
            return super().forward(*args, video_embeds=video_embeds, pixel_values=pixel_values, captions_per_video=captions_per_video, **kwargs)

    torch.manual_seed(0)
    model = Shuffled(create_tiny_video_git(tokenizer, num_frames=2).config)
    with pytest.raises(AssertionError, match="Shuffled: log-probabilities from video_embeds differ from those from pixel_values"):
        check_video_captioner(model, VideoGitProcessor(tokenizer, image_size=32, prompt="a"))


def test_the_trainer_names_a_model_outside_the_contract(tokenizer, tmp_path):
    from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer

    torch.manual_seed(0)
    plain = GitForCausalLM(create_tiny_video_git(tokenizer, num_frames=2).config)
    args = VideoSCSTConfig(output_dir=str(tmp_path), use_cpu=True)
    with pytest.raises(TypeError, match="GitForCausalLM does not follow the captioner contract: inherit hf_vidcap.models.VideoCaptionerMixin"):
        VideoSCSTTrainer(plain, lambda completions, **kw: [0.0] * len(completions), args, processing_class=VideoGitProcessor(tokenizer, image_size=32, prompt="a"))
