"""benchmarks/wtf_claims.py: the score columns on hand-made captions and embeddings, the table and verdicts from fake
stored runs, its rows joining the method-claims table, and the README section is the committed table."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[1]
_spec = importlib.util.spec_from_file_location("wtf_claims", ROOT / "benchmarks" / "wtf_claims.py")
wc = importlib.util.module_from_spec(_spec)
sys.modules["wtf_claims"] = wc
_spec.loader.exec_module(wc)
mc = wc.mc


def test_scores_hand_computed():
    from hf_vidcap.evaluation import score_captions
    from hf_vidcap.metrics import self_bleu

    captions = ["a red circle moves left", "a red circle moves left", "a big blue square", "a small blue square"]
    references = [["a red circle moves left"], ["a green circle moves left"], ["a big blue square grows"], ["a small blue square grows"]]
    # Videos 0 and 1 are twins (colour), 2 and 3 twins (size). Caption i's embedding is closest to video i except
    # caption 1, which is video 0's (the same text as caption 0).
    videos = [torch.tensor(v, dtype=torch.float32) for v in ([1.0, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0])]
    text = torch.nn.functional.normalize(torch.tensor([[1.0, 0, 0, 0], [1.0, 0, 0, 0], [0, 0, 1.0, 0.2], [0, 0, 0.2, 1.0]]), dim=-1)
    columns = {
        "captions": references, "video_id": ["a", "a_twin", "b", "b_twin"], "pair_id": ["a_twin", "a", "b_twin", "b"],
        "video_embedding": videos, "text_embedding": text,
    }
    scores = wc.wtf_scores(captions, columns, ("cider_d", "bleu", "rouge_l"))
    # Text-to-video: captions 0, 2, 3 rank their own video first; caption 1 ranks video 0 above its own (rank 2).
    assert scores["t2v_r1"] == pytest.approx(75.0) and scores["t2v_r5"] == pytest.approx(100.0)
    # Video-to-text: videos 0 and 1 each find their own caption tied with the twin's identical one, and ties
    # count against the query (rank 2); videos 2 and 3 find theirs first.
    assert scores["v2t_r1"] == pytest.approx(50.0)
    assert scores["twins_distinct"] == pytest.approx(50.0)  # pair a: one caption; pair b: two
    quality = score_captions(captions, references, ("cider_d", "bleu", "rouge_l"))
    assert scores["cider_d"] == pytest.approx(quality["cider_d"]) and scores["rouge_l"] == pytest.approx(quality["rouge_l"])
    assert scores["self_bleu_4"] == pytest.approx(self_bleu(captions, 4))
    assert scores["length"] == pytest.approx(4.5) and "meteor" not in scores


def _fake_runs(runs: Path, seeds, values) -> None:
    for arm, spec in wc.ARMS.items():
        grid = spec.learning_rates or [None]
        for seed in seeds:
            for index, setting in enumerate(grid):
                chosen = index == len(grid) - 1  # the last grid value wins on validation
                if seed != 0 and not chosen:
                    continue
                test = {key: values[arm][seed].get(key, 1.0) for key in wc.SCORE_KEYS}
                path = mc.run_path(runs, 2, seed, arm, setting)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"validation_r1": 90.0 if chosen else 50.0, "validation_cider_d": 1.0, "test": test}))


def test_table_verdicts_and_the_method_claims_rows(tmp_path):
    values = {arm: {s: {"t2v_r1": 20.0 + s, "cider_d": 1.5, "self_bleu_4": 0.9} for s in (0, 1)} for arm in wc.ARMS}
    for seed in (0, 1):
        values["wtf"][seed].update(t2v_r1=25.0 + seed, cider_d=1.5, self_bleu_4=0.8)
        values["wtf_rl"][seed].update(t2v_r1=40.0 + seed, cider_d=1.2)
        values["rl"][seed].update(t2v_r1=42.0 + seed, cider_d=0.9)
        values["rl_unidirectional"][seed].update(t2v_r1=41.5 + seed, cider_d=0.95)
        values["scst_discriminator"][seed].update(t2v_r1=38.0, cider_d=0.5)
    runs = tmp_path / "runs"
    _fake_runs(runs, [0, 1], values)
    table = mc.build_table(runs, 2, [0, 1], list(wc.CLAIMS), 0, wc.SUITE)
    assert table["arms"]["wtf_rl"]["learning_rate"] == "3e-05" and table["arms"]["tf_continued"]["learning_rate"] == "0.0001"
    verdicts = {name: row["verdict"] for name, row in table["claims"].items()}
    # rl vs rl_unidirectional: +0.5 with seed std 0.7 is within noise; the rest hold.
    assert verdicts == {
        "wtf_rl_retrieval": "holds", "wtf_rl_quality": "holds", "wtf_alone": "holds",
        "wtf_bidirectional": "within noise", "wtf_batch_baselines": "holds",
    }
    readme = tmp_path / "README.md"
    readme.write_text(f"{wc.README_START}\nstale figures\n{wc.README_END}\n")
    settings = {"steps": 300, "num_train": 1000, "num_test": 300, "action_caption_prob": 0.5, "near_duplicate_prob": 0.5, "d_model": 64}
    text = wc.write_outputs(table, settings, str(tmp_path / "wtf"), readme)
    assert "wtf_rl vs tf_continued: t2v_r1 (higher) | 40.500 ± 0.707 | 20.500 ± 0.707 | +20.000, +20.000 | holds |" in text
    assert (tmp_path / "wtf.png").read_bytes()[:4] == b"\x89PNG" and "stale figures" not in readme.read_text()
    rows = mc.plugin_claims({"wtf_claims": tmp_path / "wtf.json"})
    assert set(rows) == set(wc.CLAIMS) and rows["wtf_alone"]["source"] == "benchmarks/wtf_claims.py"
    assert "wtf_claims" in mc.PLUGINS


def test_the_readme_section_is_the_committed_table():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(wc.README_START) + len(wc.README_START) : readme.index(wc.README_END)].strip()
    committed = ROOT / "benchmarks" / "results" / "wtf_claims.md"
    assert section == (committed.read_text().strip() if committed.exists() else "")
