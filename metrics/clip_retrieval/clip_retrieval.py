"""CLIP retrieval recall@k: text-to-video and video-to-text recall@1/5/10 with a fixed CLIP model (WTF-RL).

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import evaluate
import torch

from hf_vidcap.encoders import load_clip_embedder
from hf_vidcap.metrics import retrieval_recall
from hf_vidcap.metrics.modules import video_text_metric_info

_CITATION = """@inproceedings{chaffin2024distinctive, title={Distinctive image captioning: leveraging ground truth
  captions in CLIP guided reinforcement learning}, author={Chaffin, Antoine and Kijak, Ewa and Claveau, Vincent},
  year={2024}}"""

_DESCRIPTION = """Distinctiveness of generated captions: a fixed CLIP model retrieves each caption's video among all
videos (text-to-video) and each video's caption among all captions (video-to-text); recall@k in percent and the
median rank. Ties count against the query, so identical captions for two videos earn neither of them credit."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): the generated captions.
    video_embeddings (`list[list[float]]`): the CLIP embedding of each caption's video.
    clip_model (`str` or `CLIPEmbedder`): the CLIP checkpoint that embeds the captions.
    video_ids (`list`, *optional*): each caption's video id, when videos have several captions (rows with the same
        id share one video); defaults to one video per row.
    ks (`list[int]`, defaults to `[1, 5, 10]`).
    backend (`str`, defaults to `"transformers"`): or `"open_clip"`.
Returns:
    t2v_recall@k, v2t_recall@k for each k, t2v_median_rank, v2t_median_rank.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ClipRetrieval(evaluate.Metric):
    def _info(self):
        return video_text_metric_info(_DESCRIPTION, _CITATION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, video_embeddings, clip_model=None, video_ids=None, ks=(1, 5, 10), backend="transformers"):
        embedder = load_clip_embedder(clip_model, backend)
        video_embeddings = torch.nn.functional.normalize(torch.tensor(video_embeddings, dtype=torch.float32), dim=-1)
        if video_ids is None:
            caption_to_video, videos = None, video_embeddings
        else:
            if len(video_ids) != len(predictions):
                raise ValueError(f"got {len(video_ids)} video_ids for {len(predictions)} predictions.")
            index = {}
            caption_to_video = [index.setdefault(v, len(index)) for v in video_ids]
            first = {}
            for row, video in enumerate(caption_to_video):
                first.setdefault(video, row)
            videos = video_embeddings[[first[v] for v in range(len(index))]]
        similarity = embedder.encode_text(list(predictions)) @ videos.T
        return retrieval_recall(similarity, caption_to_video, ks)
