"""SPICE: scene-graph F-score of captions (needs Java and Stanford CoreNLP).

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import evaluate

from hf_vidcap.metrics import normalize_corpus, spice
from hf_vidcap.metrics.modules import caption_metric_info

_CITATION = """@inproceedings{anderson2016spice, title={SPICE: Semantic propositional image caption evaluation},
  author={Anderson, Peter and Fernando, Basura and Johnson, Mark and Gould, Stephen}, booktitle={ECCV}, year={2016}}"""

_DESCRIPTION = """SPICE 1.0: F-score of the semantic propositions (objects, attributes, relations) of a caption's scene
graph against its references', by the original jar shipped with pycocoevalcap. It also needs the Stanford CoreNLP
3.6.0 jars, which pycocoevalcap downloads at first use; here a missing CoreNLP raises a clear error at once
(hf_vidcap.metrics.JavaMetricUnavailableError) instead of attempting a download."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): one caption per video.
    references (`list[list[str]]`): the reference captions of each video.
    normalize (`bool`, defaults to `True`): lower-case and strip punctuation first.
    spice_jar (`str`, *optional*): path of spice-1.0.jar (with lib/ holding CoreNLP), if not pycocoevalcap's.
Returns:
    spice (`float`): the mean F-score; scores (`list[float]`): per caption.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Spice(evaluate.Metric):
    def _info(self):
        return caption_metric_info(_DESCRIPTION, _CITATION, _KWARGS_DESCRIPTION, ["https://github.com/peteanderson80/SPICE"])

    def _compute(self, predictions, references, normalize=True, spice_jar=None):
        if normalize:
            predictions, references = normalize_corpus(predictions, references)
        mean, scores = spice(predictions, references, spice_jar=spice_jar)
        return {"spice": mean, "scores": scores}
