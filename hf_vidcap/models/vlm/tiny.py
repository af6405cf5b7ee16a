"""Tiny random video VLMs built offline from configs (tests and the shapes world): a word-level chat tokenizer over
the shapes vocabulary with the family's special tokens and a minimal chat template, the family's real processor
classes, and a small config."""

from __future__ import annotations

import torch

from .modeling_vlm import as_video_captioner
from .processing_vlm import VideoVLMProcessor

_QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
_QWEN_TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} {% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for c in m['content'] %}{% if c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ c['text'] }}{% endif %}{% endfor %}"
    "{% endif %} <|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


def build_tiny_chat_tokenizer(special: list[str], eos: str, pad: str, vocab_size: int | None = None):
    """A word-level fast tokenizer: the special tokens, chat words and the shapes vocabulary (padded with dummy words
    to ``vocab_size`` entries, so that a real-size model's embedding and output layers keep their size)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from ...data import shapes_vocabulary

    chat = ["system", "user", "assistant", "describe", "this", "video", ".", "[UNK]", "seconds", "<", ">", *"0123456789"]
    words = list(dict.fromkeys(special + chat + shapes_vocabulary()))
    if vocab_size is not None:
        words += [f"w{i}" for i in range(vocab_size - len(words))]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(pattern=Regex(r"<\|[a-z_]+\|>"), behavior="isolated"), pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
    ])
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    others = [t for t in special if t not in (eos, pad)]
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=eos, pad_token=pad, unk_token="[UNK]", additional_special_tokens=others)


TINY_VLM_TYPES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "llava_onevision", "llava_next_video", "smolvlm", "instructblipvideo")
_SMOLVLM_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<image>", "<fake_token_around_image>", "<global-img>", "<video>"]
_SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for m in messages %}{{ m['role'] }}:{% for c in m['content'] %}{% if c['type'] == 'video' %}<video>"
    "{% elif c['type'] == 'image' %}<image>{% else %} {{ c['text'] }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
_LLAVA_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]
_LLAVA_TEMPLATE = _QWEN_TEMPLATE.replace("<|vision_start|><|video_pad|><|vision_end|>", "<video>").replace("<|vision_start|><|image_pad|><|vision_end|>", "<image>")


def _tiny_text_config(tokenizer) -> dict:
    return dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None)


def create_tiny_video_vlm(model_type: str = "qwen2_vl", num_frames: int = 4, image_size: int | None = None, prompt: str = "describe this video .", seed: int = 0):
    """``(model, processor)``: a tiny random VLM of ``model_type`` (`TINY_VLM_TYPES`) with the captioner contract;
    ``image_size`` defaults to the family's smallest clean size (56: 14-pixel patches merged 2 x 2; 64: 16-pixel
    patches merged or shuffled 2 x 2)."""
    if model_type not in TINY_VLM_TYPES:
        raise ValueError(f"no tiny builder for {model_type!r}; available: {list(TINY_VLM_TYPES)}.")
    if image_size is None:
        image_size = {"qwen3_vl": 64, "smolvlm": 64, "instructblipvideo": 28}.get(model_type, 56)
    if model_type == "llava_onevision":
        model, processor = _tiny_llava_onevision(num_frames, image_size, prompt, seed)
    elif model_type == "qwen3_vl":
        model, processor = _tiny_qwen3_vl(num_frames, image_size, prompt, seed)
    elif model_type == "llava_next_video":
        model, processor = _tiny_llava_next_video(num_frames, image_size, prompt, seed)
    elif model_type == "smolvlm":
        model, processor = _tiny_smolvlm(num_frames, image_size, prompt, seed)
    elif model_type == "instructblipvideo":
        model, processor = _tiny_instructblipvideo(num_frames, image_size, prompt, seed)
    else:
        model, processor = _tiny_qwen_vl(model_type, num_frames, image_size, prompt, seed)
    tokenizer = processor.tokenizer
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = None
    return as_video_captioner(model, processor), processor


def _tiny_llava_onevision(num_frames: int, image_size: int, prompt: str, seed: int):
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        LlavaOnevisionImageProcessor,
        LlavaOnevisionProcessor,
        LlavaOnevisionVideoProcessor,
    )

    tokenizer = build_tiny_chat_tokenizer(_LLAVA_SPECIAL, eos="<|im_end|>", pad="<|endoftext|>")
    tokenizer.chat_template = _LLAVA_TEMPLATE
    size = {"height": image_size, "width": image_size}
    inner = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=size, crop_size=size, image_grid_pinpoints=[[image_size, image_size]]),
        tokenizer=tokenizer, video_processor=LlavaOnevisionVideoProcessor(size=size, do_sample_frames=False),
        num_image_tokens=(image_size // 14) ** 2, vision_feature_select_strategy="full", chat_template=_LLAVA_TEMPLATE,
    )
    processor = VideoVLMProcessor(inner, num_frames=num_frames, image_size=image_size, prompt=prompt)
    config = LlavaOnevisionConfig(
        text_config=dict(model_type="qwen2", **_tiny_text_config(tokenizer)),
        vision_config=dict(model_type="siglip_vision_model", image_size=image_size, patch_size=14, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"), video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        vision_feature_select_strategy="full", vision_feature_layer=-1, image_grid_pinpoints=[[image_size, image_size]],
    )
    torch.manual_seed(seed)
    return LlavaOnevisionForConditionalGeneration(config), processor


def _tiny_llava_next_video(num_frames: int, image_size: int, prompt: str, seed: int):
    from transformers import (
        LlavaNextImageProcessor,
        LlavaNextVideoConfig,
        LlavaNextVideoForConditionalGeneration,
        LlavaNextVideoProcessor,
        LlavaNextVideoVideoProcessor,
    )

    tokenizer = build_tiny_chat_tokenizer(_LLAVA_SPECIAL, eos="<|im_end|>", pad="<|endoftext|>")
    tokenizer.chat_template = _LLAVA_TEMPLATE
    size = {"height": image_size, "width": image_size}
    inner = LlavaNextVideoProcessor(
        video_processor=LlavaNextVideoVideoProcessor(size=size, crop_size=size, do_sample_frames=False),
        image_processor=LlavaNextImageProcessor(size=size, crop_size=size, image_grid_pinpoints=[[image_size, image_size]]),
        tokenizer=tokenizer, chat_template=_LLAVA_TEMPLATE, patch_size=14, vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's class token, which the "default" strategy drops
    )
    processor = VideoVLMProcessor(inner, num_frames=num_frames, image_size=image_size, prompt=prompt)
    config = LlavaNextVideoConfig(
        text_config=dict(model_type="llama", **_tiny_text_config(tokenizer)),
        vision_config=dict(model_type="clip_vision_model", image_size=image_size, patch_size=14, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, projection_dim=32),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"), video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        vision_feature_select_strategy="default", vision_feature_layer=-1, image_grid_pinpoints=[[image_size, image_size]], spatial_pool_stride=2,
    )
    torch.manual_seed(seed)
    return LlavaNextVideoForConditionalGeneration(config), processor


def _tiny_instructblipvideo(num_frames: int, image_size: int, prompt: str, seed: int):
    """InstructBLIPVideo: a Q-Former reads each frame with the instruction (no chat template: the prompt is the
    instruction), its query tokens for every frame come before the prompt."""
    from transformers import (
        InstructBlipVideoConfig,
        InstructBlipVideoForConditionalGeneration,
        InstructBlipVideoProcessor,
        InstructBlipVideoVideoProcessor,
    )

    tokenizer = build_tiny_chat_tokenizer(["<pad>", "</s>", "<video>"], eos="</s>", pad="<pad>")
    qformer_tokenizer = build_tiny_chat_tokenizer(["[PAD]", "[SEP]"], eos="[SEP]", pad="[PAD]")
    inner = InstructBlipVideoProcessor(
        video_processor=InstructBlipVideoVideoProcessor(size={"height": image_size, "width": image_size}, do_sample_frames=False),
        tokenizer=tokenizer, qformer_tokenizer=qformer_tokenizer, num_query_tokens=2,
    )
    processor = VideoVLMProcessor(inner, num_frames=num_frames, image_size=image_size, prompt=prompt)
    config = InstructBlipVideoConfig(
        vision_config=dict(image_size=image_size, patch_size=14, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2),
        qformer_config=dict(vocab_size=len(qformer_tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                            encoder_hidden_size=32, pad_token_id=qformer_tokenizer.pad_token_id),
        text_config=dict(model_type="llama", **_tiny_text_config(tokenizer)),
        num_query_tokens=2, video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
    )
    torch.manual_seed(seed)
    return InstructBlipVideoForConditionalGeneration(config), processor


def _tiny_smolvlm(num_frames: int, image_size: int, prompt: str, seed: int):
    """SmolVLM2: a video is a series of frames, each encoded as an image (its own tokens and a timestamp in the
    prompt; the processor assumes 24 fps for pre-sampled frames and spells the frame count with num2words)."""
    from transformers import (
        SmolVLMConfig,
        SmolVLMForConditionalGeneration,
        SmolVLMImageProcessor,
        SmolVLMProcessor,
        SmolVLMVideoProcessor,
    )

    tokenizer = build_tiny_chat_tokenizer(_SMOLVLM_SPECIAL, eos="<end_of_utterance>", pad="<|endoftext|>")
    tokenizer.chat_template = _SMOLVLM_TEMPLATE
    edge = {"longest_edge": image_size}
    inner = SmolVLMProcessor(
        image_processor=SmolVLMImageProcessor(size=edge, max_image_size=edge, do_image_splitting=False), tokenizer=tokenizer,
        video_processor=SmolVLMVideoProcessor(size=edge, max_image_size=edge, do_sample_frames=False),
        image_seq_len=((image_size // 16) ** 2) // 4, chat_template=_SMOLVLM_TEMPLATE,
    )
    processor = VideoVLMProcessor(inner, num_frames=num_frames, image_size=image_size, prompt=prompt)
    config = SmolVLMConfig(
        text_config=dict(model_type="llama", **_tiny_text_config(tokenizer)),
        vision_config=dict(image_size=image_size, patch_size=16, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2),
        scale_factor=2, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(seed)
    return SmolVLMForConditionalGeneration(config), processor


def _tiny_qwen3_vl(num_frames: int, image_size: int, prompt: str, seed: int):
    """Qwen3-VL: 16-pixel patches, DeepStack features from the first vision layer, frame timestamps in the prompt (the
    processor assumes 24 fps for pre-sampled frames)."""
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    tokenizer = build_tiny_chat_tokenizer(_QWEN_SPECIAL, eos="<|im_end|>", pad="<|endoftext|>")
    tokenizer.chat_template = _QWEN_TEMPLATE
    pixels = image_size * image_size
    inner = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=16, min_pixels=pixels, max_pixels=pixels), tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(patch_size=16, size={"shortest_edge": pixels, "longest_edge": pixels}, do_sample_frames=False),
        chat_template=_QWEN_TEMPLATE,
    )
    processor = VideoVLMProcessor(inner, num_frames=num_frames, image_size=image_size, prompt=prompt)
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen3VLConfig(
        text_config=dict(head_dim=8, rope_scaling={"rope_type": "default", "mrope_section": [2, 1, 1], "mrope_interleaved": True}, **_tiny_text_config(tokenizer)),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32, patch_size=16, spatial_merge_size=2, temporal_patch_size=2, deepstack_visual_indexes=[0], num_position_embeddings=16),
        video_token_id=ids("<|video_pad|>"), image_token_id=ids("<|image_pad|>"), vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )
    torch.manual_seed(seed)
    return Qwen3VLForConditionalGeneration(config), processor


def _tiny_qwen_vl(model_type: str, num_frames: int, image_size: int, prompt: str, seed: int):
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    tokenizer = build_tiny_chat_tokenizer(_QWEN_SPECIAL, eos="<|im_end|>", pad="<|endoftext|>")
    tokenizer.chat_template = _QWEN_TEMPLATE
    pixels = image_size * image_size
    inner = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=pixels, max_pixels=pixels),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(min_pixels=pixels, max_pixels=pixels, do_sample_frames=False),
        chat_template=_QWEN_TEMPLATE,
    )
    processor = VideoVLMProcessor(inner, num_frames=num_frames, image_size=image_size, prompt=prompt)
    ids = tokenizer.convert_tokens_to_ids
    text = dict(rope_scaling={"type": "mrope", "mrope_section": [2, 1, 1]}, **_tiny_text_config(tokenizer))
    special = dict(video_token_id=ids("<|video_pad|>"), image_token_id=ids("<|image_pad|>"), vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))
    torch.manual_seed(seed)
    if model_type == "qwen2_vl":
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        config = Qwen2VLConfig(text_config=text, vision_config=dict(depth=1, embed_dim=32, hidden_size=32, num_heads=2, patch_size=14, spatial_merge_size=2, temporal_patch_size=2), **special)
        model = Qwen2VLForConditionalGeneration(config)
    else:
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        config = Qwen2_5_VLConfig(text_config=text, vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32, patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=56, fullatt_block_indexes=[0]), **special)
        model = Qwen2_5_VLForConditionalGeneration(config)
    return model, processor
