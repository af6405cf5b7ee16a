"""transformers' model conventions, as its common model tests check them, on every captioner we ship:
``output_hidden_states`` / ``output_attentions`` / ``return_dict=False``, ``main_input_name`` first in ``forward``,
feature getters with B rows, and ``pixel_values_videos`` accepted by ``get_video_features``."""

import inspect

import pytest
import torch

from hf_vidcap.data.shapes import shapes_vocabulary
from hf_vidcap.models import (
    OFAConfig,
    OFAForConditionalGeneration,
    VideoBlip2ForConditionalGeneration,
    VideoBlip2Processor,
    VideoGitProcessor,
    build_ofa_tokenizer,
    create_tiny_video_git,
    get_tiny_video_blip2_config,
)

B, T = 2, 3


def _video(seed=0):
    return torch.randn(B, T, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def _blip2(tokenizer, frame_fusion="concat_patches"):
    torch.manual_seed(0)
    config = get_tiny_video_blip2_config(
        tokenizer, num_frames=T, image_size=32, patch_size=8, hidden_size=32, num_query_tokens=4, text_hidden_size=32,
        frame_fusion=frame_fusion,
    )
    model = VideoBlip2ForConditionalGeneration(config).eval()
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=model.num_visual_tokens(T), image_size=32)
    return model, processor


def _text(processor):
    ids, mask = processor.pad_captions(processor.caption_ids(["a red circle moves left", "a blue square grows"]))
    prefix = torch.tensor([processor.prefix_ids()] * B)
    return torch.cat([prefix, ids], 1), torch.cat([torch.ones_like(prefix), mask], 1)


def _ofa_tokenizer():
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([" ".join(shapes_vocabulary())] * 4, vocab_size=300, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", pad_token="<pad>", eos_token="</s>", unk_token="<unk>", mask_token="<mask>")
    return build_ofa_tokenizer(tokenizer, num_codes=16, num_bins=8)


def _case(name, tokenizer):
    """(model, forward kwargs with labels, number of language-model layers) for one captioner."""
    if name.startswith("blip2"):
        model, processor = _blip2(tokenizer, "per_frame_queries" if name == "blip2_per_frame" else "concat_patches")
        input_ids, attention_mask = _text(processor)
        labels = input_ids.masked_fill(attention_mask == 0, -100)
        inputs = dict(pixel_values=_video(), input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        return model, inputs, model.config.text_config.num_hidden_layers
    if name == "git":
        torch.manual_seed(0)
        model = create_tiny_video_git(tokenizer, num_frames=T).eval()
        input_ids, attention_mask = _text(VideoGitProcessor(tokenizer, image_size=32, prompt="a"))
        inputs = dict(pixel_values=_video(), input_ids=input_ids, attention_mask=attention_mask, labels=input_ids)
        return model, inputs, model.config.num_hidden_layers
    ofa_tokenizer = _ofa_tokenizer()
    torch.manual_seed(0)
    model = OFAForConditionalGeneration(OFAConfig(
        vocab_size=len(ofa_tokenizer), d_model=32, encoder_layers=2, decoder_layers=3, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, image_size=32, max_position_embeddings=64,
        token_bucket_size=16, image_bucket_size=8, dropout=0.0,
    )).eval()
    prefix = torch.tensor([[0, 5, 6, 2]] * B)
    labels = torch.randint(5, 200, (B, 5), generator=torch.Generator().manual_seed(1))
    return model, dict(pixel_values=_video(), input_ids=prefix, labels=labels), model.config.decoder_layers


MODELS = ["blip2_opt", "blip2_per_frame", "git", "ofa"]


def _hidden_and_attentions(name, outputs):
    if name.startswith("blip2"):
        return outputs.language_model_outputs.hidden_states, outputs.language_model_outputs.attentions
    if name == "ofa":
        return outputs.decoder_hidden_states, outputs.decoder_attentions
    return outputs.hidden_states, outputs.attentions


@pytest.mark.parametrize("name", MODELS)
def test_hidden_states_attentions_and_return_dict(tokenizer, name):
    model, inputs, num_layers = _case(name, tokenizer)
    if name.startswith("blip2"):
        model.set_attn_implementation("eager")  # as in transformers: SDPA computes no attention weights to return
    with torch.no_grad():
        plain = model(**inputs)
        full = model(**inputs, output_hidden_states=True, output_attentions=True)
        as_tuple = model(**inputs, return_dict=False)
    assert _hidden_and_attentions(name, plain) == (None, None)  # nothing recorded unless asked
    hidden, attentions = _hidden_and_attentions(name, full)
    assert len(hidden) == num_layers + 1 and len(attentions) == num_layers  # embeddings + one per layer
    logits = full.logits
    assert hidden[-1].shape[:2] == logits.shape[:2] and attentions[0].shape[-2] == logits.shape[1]
    torch.testing.assert_close(full.logits, plain.logits)
    if name == "ofa":  # the encoder and the cross-attention too
        assert len(full.encoder_hidden_states) == 3 and len(full.encoder_attentions) == 2 and len(full.cross_attentions) == 3
        torch.testing.assert_close(full.encoder_hidden_states[-1], full.encoder_last_hidden_state)
    # return_dict=False: a tuple starting with the loss, then the logits.
    assert isinstance(as_tuple, tuple)
    torch.testing.assert_close(as_tuple[0], plain.loss)
    torch.testing.assert_close(as_tuple[1], plain.logits)


@pytest.mark.parametrize("name", MODELS)
def test_main_input_name_is_the_first_forward_argument(tokenizer, name):
    model = _case(name, tokenizer)[0]
    first = list(inspect.signature(model.forward).parameters)[0]
    assert first == model.main_input_name


@pytest.mark.parametrize("frame_fusion", ["concat_patches", "per_frame_queries"])
def test_feature_getters_have_one_row_per_video_and_honour_return_dict(tokenizer, frame_fusion):
    model, _ = _blip2(tokenizer, frame_fusion)
    video = _video()
    with torch.no_grad():
        features = model.get_image_features(video)
        as_tuple = model.get_image_features(video, return_dict=False)
        by_video_name = model.get_video_features(pixel_values_videos=video)
    visual = model.num_visual_tokens(T)
    assert features.pooler_output.shape == (B, visual, 32)
    assert features.last_hidden_state.shape[0] == B and features.qformer_outputs.last_hidden_state.shape[:2] == (B, visual)
    assert isinstance(as_tuple, tuple)
    torch.testing.assert_close(as_tuple[0], features.last_hidden_state)
    torch.testing.assert_close(as_tuple[1], features.pooler_output)
    torch.testing.assert_close(by_video_name.pooler_output, features.pooler_output)
    with pytest.raises(ValueError, match="pixel_values_videos"):
        model.get_video_features()
    with pytest.raises(ValueError, match="not both"):
        model.get_video_features(pixel_values=video, pixel_values_videos=video)
