"""BLEU-1..4: corpus BLEU as the COCO caption evaluation computes it, equal to pycocoevalcap's Bleu.

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import datasets
import evaluate

from hf_vidcap.metrics import corpus_bleu, normalize_caption

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
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Sequence(datasets.Value("string"))}
            ),
            codebase_urls=["https://github.com/tylin/coco-caption"],
        )

    def _compute(self, predictions, references, normalize=True):
        if normalize:
            predictions = [normalize_caption(p) for p in predictions]
            references = [[normalize_caption(r) for r in refs] for refs in references]
        return {f"bleu_{k}": float(s) for k, s in enumerate(corpus_bleu(predictions, references), start=1)}
