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


ORDERS = {
    "hf_vidcap_first": "import hf_vidcap\nimport transformers",
    "transformers_first": "import transformers\nimport hf_vidcap",
    "models": "import hf_vidcap.models",
    "evaluation": "import hf_vidcap.evaluation",
    "pipelines": "import hf_vidcap.pipelines",
    "trainer": "import hf_vidcap.trainer",
}


@pytest.fixture(scope="module")
def registration_runs():
    """The fresh interpreters of every import order, started together (each spends ~13 s importing torch and
    transformers; side by side on two cores they take about half as long as one after another)."""
    processes = {
        name: subprocess.Popen([sys.executable, "-c", first + "\n" + REPORT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, first in ORDERS.items()
    }
    yield processes
    for process in processes.values():
        process.kill()
        process.communicate()


@pytest.mark.parametrize("order", list(ORDERS))
def test_the_tasks_and_auto_classes_are_registered_whatever_the_import_order(order, registration_runs):
    stdout, stderr = registration_runs[order].communicate(timeout=300)
    assert registration_runs[order].returncode == 0, stderr[-3000:]
    assert json.loads(stdout.strip().splitlines()[-1]) == {"tasks": [True, True], "ofa": "OFAConfig"}
