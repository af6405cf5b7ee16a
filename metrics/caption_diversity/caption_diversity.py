"""Caption diversity: Div-1, Div-2, mBLEU-4, Self-BLEU-4 and vocabulary size.

A thin `evaluate` wrapper over `hf_vidcap.metrics`, the implementation the rewards and the trainer also use.
"""

import datasets
import evaluate

from hf_vidcap.metrics import distinct_ngrams, mbleu, normalize_caption, self_bleu, vocabulary_size

_CITATION = """@inproceedings{wang2017diverse, title={Diverse and accurate image description using a variational
  auto-encoder with an additive Gaussian encoding space}, author={Wang, Liwei and Schwing, Alexander and Lazebnik,
  Svetlana}, booktitle={NeurIPS}, year={2017}}
@inproceedings{zhu2018texygen, title={Texygen: A benchmarking platform for text generation models},
  author={Zhu, Yaoming and others}, booktitle={SIGIR}, year={2018}}"""

_DESCRIPTION = """Diversity of generated captions. Each prediction is the list of captions generated for one video (K
samples or the top-K beams; a list of one for a single caption).
- div_1, div_2: distinct unigrams / bigrams of a video's caption set over its number of words, averaged over videos
  (higher: more diverse; sequence-level exploration, Chen & Jin).
- mbleu_4: BLEU-4 of each caption against the rest of its set, averaged (lower: more diverse); only when every
  video has at least two captions.
- self_bleu_4: BLEU-4 of each video's first caption against the other videos' first captions (lower: more
  diverse across videos; WTF-RL).
- vocabulary_size: distinct words over all captions."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[list[str]]`): the captions of each video.
    normalize (`bool`, defaults to `True`): lower-case and strip punctuation first.
Returns:
    div_1, div_2, self_bleu_4, vocabulary_size, and mbleu_4 when every video has two or more captions.
Examples:
    >>> import evaluate
    >>> diversity = evaluate.load("metrics/caption_diversity")
    >>> result = diversity.compute(predictions=[["a red circle", "a blue circle"], ["a square grows", "a square"]])
    >>> result["vocabulary_size"], round(result["div_1"], 4)
    (6, 0.6333)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CaptionDiversity(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("string"))}),
        )

    def _compute(self, predictions, normalize=True):
        sets = [[normalize_caption(c) if normalize else c for c in captions] for captions in predictions]
        result = {"div_1": distinct_ngrams(sets, 1), "div_2": distinct_ngrams(sets, 2)}
        if all(len(captions) >= 2 for captions in sets):
            result["mbleu_4"] = mbleu(sets, 4)
        if len(sets) >= 2:
            result["self_bleu_4"] = self_bleu([captions[0] for captions in sets], 4)
        result["vocabulary_size"] = vocabulary_size([c for captions in sets for c in captions])
        return result
