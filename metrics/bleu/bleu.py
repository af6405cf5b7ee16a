"""BLEU-1..4: corpus BLEU as the COCO caption evaluation computes it, equal to pycocoevalcap's Bleu.

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import evaluate

from hf_vidcap.metrics import corpus_bleu, normalize_corpus
from hf_vidcap.metrics.modules import caption_metric_info

_CITATION = """@inproceedings{papineni2002bleu, title={BLEU: a method for automatic evaluation of machine translation},
  author={Papineni, Kishore and Roukos, Salim and Ward, Todd and Zhu, Wei-Jing}, booktitle={ACL}, year={2002}}"""

_DESCRIPTION = """Corpus BLEU-1..4 with the COCO evaluation's conventions: the closest reference length (shorter on ties)
for the brevity penalty and its tiny smoothing constants. Not sacreBLEU: use this one to compare with captioning
papers."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): one caption per video.
    references (`list[list[str]]`): the reference captions of each video.
    normalize (`bool`, defaults to `True`): lower-case and strip punctuation first.
Returns:
    bleu_1, bleu_2, bleu_3, bleu_4 (`float`).
Examples:
    >>> import evaluate
    >>> bleu = evaluate.load("metrics/bleu")
    >>> result = bleu.compute(predictions=["a red circle moves left"], references=[["a red circle moves left"]])
    >>> round(result["bleu_4"], 4)
    1.0
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CaptionBleu(evaluate.Metric):
    def _info(self):
        return caption_metric_info(_DESCRIPTION, _CITATION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, normalize=True):
        if normalize:
            predictions, references = normalize_corpus(predictions, references)
        return {f"bleu_{k}": float(s) for k, s in enumerate(corpus_bleu(predictions, references), start=1)}
