"""CLIP-S / RefCLIP-S: reference-free caption-video compatibility (Hessel et al.).

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import evaluate
import torch

from hf_vidcap.encoders import load_clip_embedder, ref_clip_scores
from hf_vidcap.metrics import clip_s
from hf_vidcap.metrics.modules import video_text_metric_info

_CITATION = """@inproceedings{hessel2021clipscore, title={CLIPScore: A reference-free evaluation metric for image
  captioning}, author={Hessel, Jack and Holtzman, Ari and Forbes, Maxwell and Le Bras, Ronan and Choi, Yejin},
  booktitle={EMNLP}, year={2021}}"""

_DESCRIPTION = """CLIP-S = w * max(cos(caption, video), 0) with w = 2.5, the video embedding being the mean of its
L2-normalised CLIP frame embeddings (compute them with hf_vidcap.encoders.CLIPEmbedder.encode_video). With
`reference_captions`, RefCLIP-S: the harmonic mean of CLIP-S and the best caption-reference cosine (clipped at 0)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): one caption per video.
    video_embeddings (`list[list[float]]`): the CLIP embedding of each caption's video (same CLIP model).
    clip_model (`str` or `CLIPEmbedder`): the CLIP checkpoint that embeds the captions.
    reference_captions (`list[list[str]]`, *optional*): reference captions, for RefCLIP-S.
    weight (`float`, defaults to `2.5`): w.
    backend (`str`, defaults to `"transformers"`): or `"open_clip"`.
Returns:
    clip_score (`float`, the mean), clip_scores (`list[float]`); with reference_captions also ref_clip_score and
    ref_clip_scores.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ClipScore(evaluate.Metric):
    def _info(self):
        return video_text_metric_info(_DESCRIPTION, _CITATION, _KWARGS_DESCRIPTION, ["https://github.com/jmhessel/clipscore"])

    def _compute(self, predictions, video_embeddings, clip_model=None, reference_captions=None, weight=2.5, backend="transformers"):
        embedder = load_clip_embedder(clip_model, backend)
        text = embedder.encode_text(list(predictions))
        scores = clip_s(text, torch.tensor(video_embeddings, dtype=torch.float32), weight)
        result = {"clip_score": scores.mean().item(), "clip_scores": scores.tolist()}
        if reference_captions is not None:
            if len(reference_captions) != len(predictions):
                raise ValueError(f"got {len(reference_captions)} reference lists for {len(predictions)} predictions.")
            ref = ref_clip_scores(embedder, scores, text, reference_captions)
            result.update(ref_clip_score=ref.mean().item(), ref_clip_scores=ref.tolist())
        return result
