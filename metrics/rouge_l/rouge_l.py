"""ROUGE-L: LCS-based F-measure (beta 1.2) as the COCO caption evaluation computes it.

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import evaluate

from hf_vidcap.metrics import corpus_rouge_l, normalize_corpus
from hf_vidcap.metrics.modules import caption_metric_info

_CITATION = """@inproceedings{lin2004rouge, title={ROUGE: A package for automatic evaluation of summaries},
  author={Lin, Chin-Yew}, booktitle={Text Summarization Branches Out}, year={2004}}"""

_DESCRIPTION = """ROUGE-L: per caption, the longest-common-subsequence precision and recall against each reference,
the best of each over the references, combined as an F-measure with beta = 1.2; the mean over captions. Equal to
pycocoevalcap's Rouge (not the `rouge` metric of evaluate, which uses rouge_score's single-reference F1)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): one caption per video.
    references (`list[list[str]]`): the reference captions of each video.
    normalize (`bool`, defaults to `True`): lower-case and strip punctuation first.
Returns:
    rouge_l (`float`); scores (`list[float]`): per caption.
Examples:
    >>> import evaluate
    >>> rouge = evaluate.load("metrics/rouge_l")
    >>> result = rouge.compute(predictions=["a red circle moves left"], references=[["a red circle moves to the left"]])
    >>> round(result["rouge_l"], 4)
    0.809
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RougeL(evaluate.Metric):
    def _info(self):
        return caption_metric_info(_DESCRIPTION, _CITATION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, normalize=True):
        if normalize:
            predictions, references = normalize_corpus(predictions, references)
        mean, scores = corpus_rouge_l(predictions, references)
        return {"rouge_l": float(mean), "scores": scores}
