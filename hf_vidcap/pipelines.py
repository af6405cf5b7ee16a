"""transformers pipelines for hf_vidcap's captioners, registered with transformers' pipeline registry on
``import hf_vidcap``:

- ``pipeline("video-captioning", model=...)``: a video (a path, a ``datasets.Video`` value, or decoded frames)
  in, ``[{"generated_text": ...}]`` out (K of them with ``num_return_sequences=K``);
- ``pipeline("zero-shot-video-classification", model=..., clip_model=...)``: ReGen's protocol, the video's caption
  matched to ``candidate_labels`` in a CLIP text space, ``[{"label", "score"}, ...]`` best first.

``model`` is a checkpoint (a local folder or a Hub repo id, loaded with `AutoModelForVideoCaptioning`) or a model
object; the processor is loaded from the same checkpoint unless ``processor=`` is given.

    >>> from transformers import pipeline
    >>> import hf_vidcap  # registers the tasks
    >>> captioner = pipeline("video-captioning", model="outputs/tiny_video_blip2_shapes")  # doctest: +SKIP
    >>> captioner("data/shapes/videos/test/00000.mp4")  # doctest: +SKIP
    [{'generated_text': 'a red circle moves left'}]
"""

from __future__ import annotations

import os

import numpy as np
import torch
from transformers import Pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from .captioning import default_num_frames, generate_captions, make_generation_config, unwrap_captioner

_GENERATION_KEYS = ("max_new_tokens", "min_new_tokens", "num_beams", "do_sample", "num_return_sequences", "temperature", "top_k", "top_p", "length_penalty")


def _is_one_videos_frames(inputs) -> bool:
    """A list of 3-D frames (arrays or PIL images) is one video, not a batch of videos."""
    return isinstance(inputs, (list, tuple)) and len(inputs) > 0 and not isinstance(inputs[0], (str, os.PathLike, dict)) and np.asarray(inputs[0]).ndim == 3


class VideoCaptioningPipeline(Pipeline):
    """Caption videos with any hf_vidcap captioner.

    Call arguments (or pipeline-construction defaults):
        num_frames (`int`): frames sampled per video (default: what the model's frame slots take, else 8; for
            decoded frames, at most as many as given).
        sampling (`str`): ``"uniform"`` (default), ``"random_segment"`` or ``"headtail"``.
        short_video (`str`): ``"error"`` (default), ``"repeat"`` or ``"pad"`` for videos with too few frames.
        max_new_tokens (`int`, default 20), num_beams, do_sample, num_return_sequences, min_new_tokens,
        temperature, top_k, top_p, length_penalty: generation settings.

    Inputs: a video path, a ``{"path": ..., "bytes": ...}`` dict, a (T, H, W, 3) uint8 array or a list of frames
    (one video), or a list of videos. Output per video: a list of ``{"generated_text": caption}``.
    """

    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False
    _pipeline_calls_generate = False

    def __init__(self, model, processor=None, **kwargs):
        from .models import AutoVideoCaptionProcessor
        from .models.processing_video_caption import VideoCaptionProcessor

        if not isinstance(processor, VideoCaptionProcessor):
            if processor is not None:
                raise TypeError(f"processor must be an hf_vidcap VideoCaptionProcessor, not {type(processor).__name__}.")
            source = getattr(model, "name_or_path", "") or ""
            if not source:
                raise ValueError("the model was not loaded from a checkpoint, so its processor cannot be found: pass processor=.")
            processor = AutoVideoCaptionProcessor.from_pretrained(source)
        from .models.captioner import configure_captioner

        configure_captioner(unwrap_captioner(model), processor)  # a video VLM learns its processor's video layout
        self.video_processor_ = processor
        super().__init__(model=model, tokenizer=processor.tokenizer, **kwargs)

    def _sanitize_parameters(self, num_frames=None, sampling=None, short_video=None, generate_kwargs=None, **kwargs):
        unknown = set(kwargs) - set(_GENERATION_KEYS)
        if unknown:
            raise ValueError(f"unknown argument(s) {sorted(unknown)}; generation settings are {list(_GENERATION_KEYS)} (or generate_kwargs=).")
        preprocess = {k: v for k, v in {"num_frames": num_frames, "sampling": sampling, "short_video": short_video}.items() if v is not None}
        forward = {**(generate_kwargs or {}), **kwargs}
        return preprocess, forward, {}

    def __call__(self, inputs, **kwargs):
        if _is_one_videos_frames(inputs):  # one video's frames, not a batch of videos
            inputs = np.stack([np.asarray(frame) for frame in inputs])
        return super().__call__(inputs, **kwargs)

    def preprocess(self, video, num_frames=None, sampling="uniform", short_video="error"):
        from .data import decode_video, sample_frame_indices

        if isinstance(video, np.ndarray):
            if video.ndim != 4 or video.shape[-1] != 3:
                raise ValueError(f"decoded frames must be a (T, H, W, 3) array; got shape {video.shape}.")
            # Given frames are all used when the model takes that many.
            num_frames = num_frames or min(len(video), default_num_frames(self.model, self.video_processor_, fallback=8))
            indices, _ = sample_frame_indices(len(video), num_frames, sampling, short_video)
            frames = video[indices]
        elif isinstance(video, (str, os.PathLike, dict)):
            num_frames = num_frames or default_num_frames(self.model, self.video_processor_, fallback=8)
            frames = decode_video(video, num_frames, sampling=sampling, short_video=short_video)
        else:
            raise TypeError(f"a video is a path, a {{'path': ...}} dict or a (T, H, W, 3) array of frames; got {type(video).__name__}.")
        # Not "pixel_values": transformers' batching would pad that key with a feature extractor's settings.
        return {"videos": self.video_processor_(videos=[frames])["pixel_values"]}

    def _forward(self, model_inputs, max_new_tokens: int = 20, **generation):
        captioner = unwrap_captioner(self.model)
        config = make_generation_config(self.video_processor_, max_new_tokens, **generation)
        with torch.no_grad():
            video_embeds = captioner.get_video_embeds(model_inputs["videos"].to(self.device))
            ids, _ = generate_captions(captioner, self.video_processor_, video_embeds, config)
        # (videos, K, L): the pipeline's batching hands each video its own K captions.
        return {"caption_ids": ids.view(video_embeds.shape[0], -1, ids.shape[-1])}

    def postprocess(self, model_outputs):
        ids = model_outputs["caption_ids"]
        return [{"generated_text": caption} for caption in self.video_processor_.decode_captions(ids.reshape(-1, ids.shape[-1]))]


class ZeroShotVideoClassificationPipeline(VideoCaptioningPipeline):
    """Zero-shot action recognition by captioning (ReGen's protocol): the video's greedy caption is embedded with a
    CLIP text encoder and compared with each candidate label (``hypothesis_template.format(label)``); scores are the
    softmax over labels of the cosine similarities / ``temperature``.

    Args:
        clip_model (`str` or `CLIPEmbedder`): the text space (a CLIP checkpoint, or a `CLIPEmbedder`).

    Call arguments: ``candidate_labels`` (required), ``hypothesis_template`` (default ``"{}"``), ``temperature``
    (default 0.01), and the captioning arguments. Output per video: ``[{"label", "score"}, ...]`` best first, each
    with the ``caption`` it came from.
    """

    def __init__(self, model, clip_model=None, **kwargs):
        from .encoders import load_clip_embedder

        if clip_model is None:
            raise ValueError("zero-shot-video-classification needs clip_model= (a CLIP checkpoint or a CLIPEmbedder): the space captions and labels are compared in.")
        self.embedder = load_clip_embedder(clip_model)
        super().__init__(model, **kwargs)

    def _sanitize_parameters(self, candidate_labels=None, hypothesis_template=None, temperature=None, **kwargs):
        preprocess, forward, _ = super()._sanitize_parameters(**kwargs)
        post = {k: v for k, v in {"candidate_labels": candidate_labels, "hypothesis_template": hypothesis_template, "temperature": temperature}.items() if v is not None}
        return preprocess, forward, post

    def postprocess(self, model_outputs, candidate_labels=None, hypothesis_template="{}", temperature=0.01):
        from .encoders import CaptionClassifier

        if not candidate_labels:
            raise ValueError("pass candidate_labels=[...]: the class names to choose from.")
        caption = super().postprocess(model_outputs)[0]["generated_text"]
        classifier = CaptionClassifier(self.embedder, list(candidate_labels), temperature=temperature, prompt=hypothesis_template)
        scores = classifier.log_probs([caption])[0].exp().tolist()
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        return [{"label": candidate_labels[i], "score": scores[i], "caption": caption} for i in order]


def register_pipelines() -> None:
    from .models import AutoModelForVideoCaptioning

    for task, cls in (("video-captioning", VideoCaptioningPipeline), ("zero-shot-video-classification", ZeroShotVideoClassificationPipeline)):
        if PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("impl") is not cls:
            PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=cls, pt_model=AutoModelForVideoCaptioning, type="multimodal")


__all__ = ["VideoCaptioningPipeline", "ZeroShotVideoClassificationPipeline", "register_pipelines"]
