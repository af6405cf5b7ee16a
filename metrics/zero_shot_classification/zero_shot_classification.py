"""Zero-shot classification from captions: ReGen's protocol: caption -> CLIP text embedding -> nearest class name.

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import datasets
import evaluate

from hf_vidcap.encoders import CaptionClassifier, load_clip_embedder
from hf_vidcap.metrics import generalized_zero_shot_accuracy, top_k_accuracy

_CITATION = """@inproceedings{regen, title={ReGen: A good generative zero-shot video classifier should be rewarded},
  year={2023}}"""

_DESCRIPTION = """Zero-shot action recognition from generated captions (ReGen): each caption is embedded with a fixed
CLIP text encoder and classified as the class name whose embedding is the most similar. Reports top-1 / top-5
accuracy over all the given classes, and, with `unseen_classes`, the generalised setting (seen, unseen, harmonic
mean)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): one caption per video.
    references (`list[int]`): the class index of each video.
    class_names (`list[str]`): the class names, in index order.
    clip_model (`str` or `CLIPEmbedder`): the CLIP checkpoint that embeds captions and class names.
    unseen_classes (`list[int]`, *optional*): class indices never trained on, for generalised zero-shot accuracy.
    prompt (`str`, defaults to `"{}"`): template for the class names, e.g. `"a video of {}"`.
    ks (`list[int]`, defaults to `[1, 5]`).
    per_class_mean (`bool`, defaults to `False`): mean per-class accuracy instead of per-sample.
    backend (`str`, defaults to `"transformers"`): or `"open_clip"`.
Returns:
    top1_accuracy, top5_accuracy (percent); with unseen_classes also seen_accuracy, unseen_accuracy, harmonic_mean.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ZeroShotClassification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("int64")}),
        )

    def _compute(
        self, predictions, references, class_names=None, clip_model=None, unseen_classes=None, prompt="{}", ks=(1, 5),
        per_class_mean=False, backend="transformers",
    ):
        if class_names is None:
            raise ValueError("pass class_names: the class names in label-index order.")
        classifier = CaptionClassifier(load_clip_embedder(clip_model, backend), class_names, prompt=prompt)
        scores = classifier.log_probs(list(predictions))
        ks = [k for k in ks if k <= len(classifier.class_names)]
        result = top_k_accuracy(scores, references, ks, per_class_mean)
        if unseen_classes is not None:
            result.update(generalized_zero_shot_accuracy(scores, references, unseen_classes, per_class_mean))
        return result
