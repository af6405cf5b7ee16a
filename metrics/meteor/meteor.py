"""METEOR: METEOR 1.5 as the COCO caption evaluation runs it (needs Java).

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import evaluate

from hf_vidcap.metrics import meteor, normalize_corpus
from hf_vidcap.metrics.modules import caption_metric_info

_CITATION = """@inproceedings{denkowski2014meteor, title={Meteor Universal: Language specific translation evaluation for
  any target language}, author={Denkowski, Michael and Lavie, Alon}, booktitle={WMT}, year={2014}}"""

_DESCRIPTION = """METEOR 1.5 (`-l en -norm`) computed by the original jar shipped with pycocoevalcap, so scores equal the
COCO caption evaluation's. Needs Java 8+ on PATH and `pip install pycocoevalcap`; without them `compute` raises a
clear error (hf_vidcap.metrics.JavaMetricUnavailableError)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): one caption per video.
    references (`list[list[str]]`): the reference captions of each video.
    normalize (`bool`, defaults to `True`): lower-case and strip punctuation first.
    meteor_jar (`str`, *optional*): path of meteor-1.5.jar, if not pycocoevalcap's.
Returns:
    meteor (`float`): the corpus score from the jar's aggregate statistics; scores (`list[float]`): per caption.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Meteor(evaluate.Metric):
    def _info(self):
        return caption_metric_info(_DESCRIPTION, _CITATION, _KWARGS_DESCRIPTION, ["https://www.cs.cmu.edu/~alavie/METEOR/"])

    def _compute(self, predictions, references, normalize=True, meteor_jar=None):
        if normalize:
            predictions, references = normalize_corpus(predictions, references)
        mean, scores = meteor(predictions, references, meteor_jar=meteor_jar)
        return {"meteor": mean, "scores": scores}
