"""CIDEr-D: consensus-based caption score (Vedantam et al.), equal to pycocoevalcap's Cider.

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import evaluate

from hf_vidcap.metrics import CiderD, normalize_caption, normalize_corpus
from hf_vidcap.metrics.modules import caption_metric_info

_CITATION = """@inproceedings{vedantam2015cider, title={CIDEr: Consensus-based image description evaluation},
  author={Vedantam, Ramakrishna and Zitnick, C. Lawrence and Parikh, Devi}, booktitle={CVPR}, year={2015}}"""

_DESCRIPTION = """CIDEr-D: TF-IDF weighted n-gram (1-4) cosine similarity between a caption and its references, with
count clipping and a Gaussian length penalty (sigma 6), x10. Document frequencies come from the references passed
in (corpus mode, as pycocoevalcap), or from `document_frequency_references` (SCST mode: fixed training-set
frequencies)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): one caption per video.
    references (`list[list[str]]`): the reference captions of each video.
    normalize (`bool`, defaults to `True`): lower-case and strip punctuation first (set `False` for text already
        tokenised, e.g. by the PTB tokenizer).
    document_frequency_references (`list[list[str]]`, *optional*): reference sets to count document frequencies
        on instead of `references`.
Returns:
    cider_d (`float`): the corpus score; scores (`list[float]`): per caption.
Examples:
    >>> import evaluate
    >>> cider = evaluate.load("metrics/cider_d")
    >>> result = cider.compute(predictions=["a red circle moves left", "a blue square"],
    ...                        references=[["a red circle moves left"], ["a blue square grows"]])
    >>> round(result["cider_d"], 4)
    7.8848
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CiderDMetric(evaluate.Metric):
    def _info(self):
        return caption_metric_info(_DESCRIPTION, _CITATION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, normalize=True, document_frequency_references=None):
        if normalize:
            predictions, references = normalize_corpus(predictions, references)
        if document_frequency_references is None:
            scorer = CiderD()
        else:
            corpus = [[normalize_caption(r) if normalize else r for r in refs] for refs in document_frequency_references]
            scorer = CiderD.from_corpus(corpus, reference_cache_entries=0)  # one call: nothing to reuse
        mean, scores = scorer.compute_score(predictions, references)
        return {"cider_d": float(mean), "scores": [float(s) for s in scores]}
