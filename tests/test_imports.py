"""Import costs and the registration with transformers, each checked in a fresh interpreter: the text metrics load
without torch or transformers, and the Auto classes and pipeline tasks are registered whichever of hf_vidcap and
transformers is imported first (also when transformers is first imported from inside an hf_vidcap module)."""

import json
import subprocess
import sys

import pytest

REPORT = """
import json, sys
from transformers.pipelines import PIPELINE_REGISTRY
from transformers import AutoConfig
tasks = PIPELINE_REGISTRY.get_supported_tasks()
print(json.dumps({"tasks": ["video-captioning" in tasks, "zero-shot-video-classification" in tasks],
                  "ofa": type(AutoConfig.for_model("ofa")).__name__}))
"""


def _run(code: str) -> dict:
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


def test_the_text_metrics_import_neither_torch_nor_transformers():
    result = _run(
        "import json, sys\n"
        "import hf_vidcap.metrics as m\n"
        "from hf_vidcap.metrics import CiderD, corpus_bleu, corpus_rouge_l, meteor, self_bleu, mbleu, distinct_ngrams\n"
        "score = CiderD().compute_score(['a red circle', 'a blue square'], [['a red circle moves'], ['a blue square grows']])[0]\n"
        "heavy = sorted(n for n in ('torch', 'transformers', 'trl', 'peft') if n in sys.modules)\n"
        "m.retrieval_recall  # the embedding-based metrics still load, with torch, on first use\n"
        "print(json.dumps({'heavy': heavy, 'score': score, 'torch_after': 'torch' in sys.modules}))"
    )
    assert result["heavy"] == [] and result["score"] > 0 and result["torch_after"]


@pytest.mark.parametrize(
    "first",
    ["import hf_vidcap\nimport transformers", "import transformers\nimport hf_vidcap", "import hf_vidcap.models",
     "import hf_vidcap.evaluation", "import hf_vidcap.pipelines", "import hf_vidcap.trainer"],
    ids=["hf_vidcap_first", "transformers_first", "models", "evaluation", "pipelines", "trainer"],
)
def test_the_tasks_and_auto_classes_are_registered_whatever_the_import_order(first):
    assert _run(first + "\n" + REPORT) == {"tasks": [True, True], "ofa": "OFAConfig"}
