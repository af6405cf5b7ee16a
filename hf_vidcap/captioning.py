"""Caption rollouts and teacher-forced log-probabilities, shared by the trainer and the evaluation.

Shapes: B videos, K captions per video, N = B * K caption rows, P prefix tokens, L caption tokens, V vocab.
A caption's ids end with eos (when it was generated or fits); positions after it are padding (mask 0).
"""

from __future__ import annotations

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList


def unwrap_distributed(model):
    """The model behind DDP / DeepSpeed engine wrappers (a PEFT wrapper, if any, stays)."""
    while hasattr(model, "module"):
        model = model.module
    return model


def peft_wrapper(model):
    """The PEFT model behind accelerate/DDP wrappers, or None."""
    model = unwrap_distributed(model)
    return model if hasattr(model, "disable_adapter") and hasattr(model, "get_base_model") else None


def is_peft_model(model) -> bool:
    return peft_wrapper(model) is not None


def unwrap_captioner(model):
    """The captioner behind accelerate/DDP and PEFT wrappers (LoRA layers stay injected in it)."""
    model = unwrap_distributed(model)
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    return model


def default_num_frames(model, processor, fallback: int | None = None) -> int:
    """Frames to sample per video for ``model``: as many as its frame slots take (``processor.num_sampled_frames`` of
    its frame-count field, which counts appended frame differences), else ``fallback`` (an error when None)."""
    captioner = unwrap_captioner(model)
    key = captioner.frames_limit_key(captioner.config) if hasattr(captioner, "frames_limit_key") else None
    slots = getattr(captioner.config, key or "num_frames", None)
    if slots:
        return processor.num_sampled_frames(slots)
    if fallback is None:
        raise ValueError("the model's config has no frame count; pass a collator that samples the frames.")
    return fallback


def is_encoder_decoder(model) -> bool:
    """Whether the captioner's text model is an encoder-decoder (BLIP-2 FLAN-T5, OFA) rather than a decoder."""
    return bool(unwrap_captioner(model).config.get_text_config().is_encoder_decoder)


def suppressed_token_ids(processor) -> list[int]:
    """Tokens a caption must never contain: the image placeholder, unk, bos/pad where they differ from eos, and the
    processor's ``extra_suppressed_token_ids()`` (sampling them would corrupt the prefix layout or the re-scoring of
    the caption)."""
    tokenizer = processor.tokenizer
    ids = {processor.image_token_id, tokenizer.unk_token_id}
    ids.update(getattr(processor, "extra_suppressed_token_ids", list)())  # e.g. a VLM's media and chat tokens
    for special in (tokenizer.bos_token_id, tokenizer.pad_token_id):
        if special != tokenizer.eos_token_id:
            ids.add(special)
    return sorted(i for i in ids if i is not None)


def make_generation_config(processor, max_new_tokens: int, **kwargs) -> GenerationConfig:
    """A complete GenerationConfig, so that no checkpoint default (top_k=50, say) leaks into sampling."""
    tokenizer = processor.tokenizer
    settings = {
        "max_new_tokens": max_new_tokens,
        "min_new_tokens": 0,
        "do_sample": False,
        "num_beams": 1,
        "repetition_penalty": 1.0,
        "no_repeat_ngram_size": 0,
        "length_penalty": 1.0,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        "suppress_tokens": suppressed_token_ids(processor),
    }
    settings.update(kwargs)
    if settings["do_sample"]:
        # Unset values would fall back to transformers' global defaults (top_k=50): pin the distribution.
        settings = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, **settings}
    return GenerationConfig(**settings)


def trim_at_eos(ids: torch.Tensor, eos_token_id: int, pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep each row up to and including its first eos; returns ``(ids, mask)`` with padding after it."""
    is_eos = ids == eos_token_id
    # Positions strictly after the first eos are padding; rows without eos keep every token.
    after_eos = (is_eos.cumsum(dim=1) - is_eos.long()) > 0
    mask = (~after_eos).long()
    ids = ids.masked_fill(after_eos, pad_token_id)
    length = max(1, int(mask.sum(dim=1).max()))
    return ids[:, :length], mask[:, :length]


@torch.no_grad()
def generate_captions(model, processor, video_embeds: torch.Tensor, generation_config: GenerationConfig):
    """Generate captions from precomputed video embeddings (B, Q, D).

    Returns:
        ``(caption_ids, caption_mask)``, each (B * num_return_sequences, L), prefix removed, cut after eos.
    """
    captioner = unwrap_captioner(model)
    batch_size = video_embeds.shape[0]
    prefix = torch.tensor(processor.prefix_ids(), device=video_embeds.device).unsqueeze(0).expand(batch_size, -1)
    num_return = generation_config.num_return_sequences or 1
    if num_return > 1 and generation_config.num_beams == 1:
        # Sampling K captions: expand the (already computed) embeddings rather than re-encoding the video.
        video_embeds = video_embeds.repeat_interleave(num_return, dim=0)
        prefix = prefix.repeat_interleave(num_return, dim=0)
        generation_config = GenerationConfig.from_dict({**generation_config.to_dict(), "num_return_sequences": 1})
    output = captioner.generate(video_embeds=video_embeds, input_ids=prefix, generation_config=generation_config)
    # Decoder-only outputs start with the prefix; encoder-decoder outputs with the decoder start token.
    start = 1 if is_encoder_decoder(captioner) else prefix.shape[1]
    return trim_at_eos(output[:, start:], generation_config.eos_token_id, generation_config.pad_token_id)


class GreedyRowsLogitsProcessor(LogitsProcessor):
    """Makes the first ``num_rows`` rows of a sampling call greedy: each keeps only its highest-scoring token (the
    token greedy search would pick from the same processed scores), so sampling draws it with probability 1.

    `generate` applies a custom processor after its own (suppressed tokens, minimum length, repetition penalty) and
    before the sampling warpers (temperature, top-k, top-p), none of which can drop the one remaining token."""

    def __init__(self, num_rows: int):
        self.num_rows = num_rows

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        head = scores[: self.num_rows]
        best = head.argmax(dim=-1, keepdim=True)
        greedy = torch.full_like(head, float("-inf")).scatter_(1, best, head.gather(1, best))
        return torch.cat([greedy, scores[self.num_rows :]], dim=0)


# Settings that differ between the greedy and the sampling configs without changing what greedy search computes.
_SAMPLING_ONLY = {"do_sample", "temperature", "top_k", "top_p", "num_return_sequences", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff"}


def can_merge_greedy_and_samples(greedy_config: GenerationConfig, sample_config: GenerationConfig) -> bool:
    """Whether the greedy captions can be decoded in the sampling call (same length limits, suppressed tokens,
    penalties; plain sampling without beams)."""
    if not sample_config.do_sample or (sample_config.num_beams or 1) != 1 or (greedy_config.num_beams or 1) != 1 or greedy_config.do_sample:
        return False
    greedy, sample = greedy_config.to_diff_dict(), sample_config.to_diff_dict()
    keys = (set(greedy) | set(sample)) - _SAMPLING_ONLY - {"transformers_version"}
    return all(greedy.get(key) == sample.get(key) for key in keys)


@torch.no_grad()
def generate_greedy_and_samples(model, processor, video_embeds: torch.Tensor, sample_config: GenerationConfig):
    """The greedy caption and K samples of every video in one decoding pass of B * (K + 1) rows, instead of one
    pass for the B greedy rows and one for the B * K samples: every decoding step's fixed cost (the cache update,
    the logits processors, the Python around them) is paid once. The greedy rows keep only their best token at
    every step (`GreedyRowsLogitsProcessor`), so they are the captions greedy search gives.

    Returns:
        ``((greedy_ids, greedy_mask), (ids, mask))``: (B, L') and (B * K, L), each cut after eos, rows of ``ids``
        grouped by video.
    """
    captioner = unwrap_captioner(model)
    batch_size = video_embeds.shape[0]
    k = sample_config.num_return_sequences or 1
    rows = torch.cat([video_embeds, video_embeds.repeat_interleave(k, dim=0)], dim=0)
    prefix = torch.tensor(processor.prefix_ids(), device=video_embeds.device).unsqueeze(0).expand(rows.shape[0], -1)
    config = GenerationConfig.from_dict({**sample_config.to_dict(), "num_return_sequences": 1})
    output = captioner.generate(
        video_embeds=rows, input_ids=prefix, generation_config=config,
        logits_processor=LogitsProcessorList([GreedyRowsLogitsProcessor(batch_size)]),
    )
    start = 1 if is_encoder_decoder(captioner) else prefix.shape[1]
    output = output[:, start:]
    eos, pad = config.eos_token_id, config.pad_token_id
    return trim_at_eos(output[:batch_size], eos, pad), trim_at_eos(output[batch_size:], eos, pad)


def caption_token_logprobs(
    model,
    processor,
    caption_ids: torch.Tensor,
    caption_mask: torch.Tensor,
    pixel_values: torch.Tensor | None = None,
    video_embeds: torch.Tensor | None = None,
    captions_per_video: int = 1,
    temperature: float = 1.0,
    frame_features: torch.Tensor | None = None,
    return_entropy: bool = False,
):
    """Teacher-forced log-probability of every caption token, with gradients.

    Args:
        model: the (possibly wrapped) captioner; the forward goes through the wrapper so DDP sees it.
        caption_ids, caption_mask (`torch.Tensor` of shape (N, L)): the captions, N = B * captions_per_video,
            grouped by video (the K captions of video b are rows b*K .. b*K+K-1).
        pixel_values (`torch.Tensor` of shape (B, T, C, H, W), *optional*): encoded once, shared by the K rows.
        video_embeds (`torch.Tensor` of shape (B, Q, D), *optional*): precomputed instead of pixel_values.
        captions_per_video (`int`): K.
        temperature (`float`): logits are divided by it, matching the distribution the captions were sampled from.
        frame_features (`torch.Tensor` of shape (B, T, P + 1, D_v), *optional*): precomputed vision-tower outputs.
        return_entropy (`bool`): also return the entropy of each position's next-token distribution.

    Returns:
        `torch.Tensor` of shape (N, L): log p(token | video, prefix, previous tokens), 0 where the mask is 0; with
        ``return_entropy``, a pair of that and the (N, L) entropies (0 where the mask is 0).
    """
    num_rows = caption_ids.shape[0]
    device = caption_ids.device
    prefix = torch.tensor(processor.prefix_ids(), device=device).unsqueeze(0).expand(num_rows, -1)
    given = {"pixel_values": pixel_values, "video_embeds": video_embeds, "frame_features": frame_features}
    visual = {key: value for key, value in given.items() if value is not None}
    if len(visual) != 1:
        raise ValueError("caption_token_logprobs needs exactly one of pixel_values, video_embeds or frame_features.")
    if captions_per_video > 1:
        visual["captions_per_video"] = captions_per_video
    if is_encoder_decoder(model):
        start = unwrap_captioner(model).config.get_text_config().decoder_start_token_id
        decoder_input_ids = torch.cat([torch.full_like(caption_ids[:, :1], start), caption_ids[:, :-1]], dim=1)
        logits = model(
            input_ids=prefix,
            attention_mask=torch.ones_like(prefix),
            decoder_input_ids=decoder_input_ids,
            decoder_attention_mask=caption_mask,
            **visual,
        ).logits
    else:
        input_ids = torch.cat([prefix, caption_ids], dim=1)
        attention_mask = torch.cat([torch.ones_like(prefix), caption_mask], dim=1)
        logits = model(input_ids=input_ids, attention_mask=attention_mask, **visual).logits
        # Models that prepend their visual tokens (GIT) return logits for them too: keep the text positions.
        logits = logits[:, logits.shape[1] - input_ids.shape[1] :]
        # The logit at position i predicts token i + 1.
        logits = logits[:, prefix.shape[1] - 1 : -1]
    logprobs = torch.log_softmax(logits.float() / temperature, dim=-1)
    token_logprobs = logprobs.gather(-1, caption_ids.unsqueeze(-1)).squeeze(-1) * caption_mask
    if not return_entropy:
        return token_logprobs
    entropy = -(logprobs.exp() * logprobs).sum(dim=-1) * caption_mask
    return token_logprobs, entropy
