"""benchmarks/regen_claims.py: the score columns on hand-computed captions, the table and verdicts from fake stored
runs, its rows joining the method-claims table, and the README section is the committed table."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[1]
_spec = importlib.util.spec_from_file_location("regen_claims", ROOT / "benchmarks" / "regen_claims.py")
rc = importlib.util.module_from_spec(_spec)
sys.modules["regen_claims"] = rc
_spec.loader.exec_module(rc)
mc = rc.mc


class _Embedder:
    """Text embeddings from a table: each action name is its one-hot axis (8 dims)."""

    def __init__(self, table):
        self.table = table

    def encode_text(self, texts):
        return torch.nn.functional.normalize(torch.tensor([self.table[t] for t in texts], dtype=torch.float32), dim=-1)


class _MaskedLM:
    def scores(self, captions):
        return [-1.0 - i for i in range(len(captions))]


def test_scores_hand_computed():
    from hf_vidcap.data.shapes import ACTIONS
    from hf_vidcap.evaluation import score_captions

    def axis(*weights):
        vector = [0.0] * 8
        for index, w in weights:
            vector[index] = w
        return vector

    table = {name: axis((i, 1.0)) for i, name in enumerate(ACTIONS)}
    captions = ["a red circle moves right", "a red circle moves up", "a red circle grows", "a red circle circle"]
    # moving right (novel) -> right; moving down (novel) -> "up" (base), shrinking second; growing -> growing;
    # bouncing -> moving left.
    table.update({captions[0]: axis((1, 1.0)), captions[1]: axis((2, 1.0), (5, 0.1)), captions[2]: axis((4, 1.0)), captions[3]: axis((0, 1.0))})
    labels = [ACTIONS.index(a) for a in ("moving right", "moving down", "growing", "bouncing")]
    references = [["a red circle moves right"], ["a red circle moves down"], ["a red circle grows"], ["a red circle bounces"]]
    columns = {"label": labels, "action": [ACTIONS[i] for i in labels], "captions": references}
    scores = rc.regen_scores(captions, columns, _Embedder(table), _MaskedLM())
    # ZSL over the 3 novel names on the 2 novel clips: right is right; down -> shrinking (0.1 > 0): 1 of 2.
    assert scores["zsl_top1"] == pytest.approx(50.0)
    # GZSL over all 8: seen clips growing (right) and bouncing (-> moving left, wrong); unseen: right (right), down (-> up).
    assert (scores["gzsl_seen"], scores["gzsl_unseen"], scores["gzsl_h"]) == pytest.approx((50.0, 50.0, 50.0))
    assert scores["base_top1"] == pytest.approx(50.0)  # 5-way over the base names on the 2 base clips
    assert scores["grammatical"] == pytest.approx(0.75)  # "a red circle circle" is not a shapes caption
    assert scores["names_action"] == pytest.approx(0.5) and scores["length"] == pytest.approx(4.5)
    assert scores["mlm_pll"] == pytest.approx(-2.5)
    assert scores["cider_d"] == pytest.approx(score_captions(captions, references)["cider_d"])
    # A split without novel clips (validation) has no ZSL / GZSL columns.
    base_only = {key: values[2:] for key, values in columns.items()}
    assert "zsl_top1" not in rc.regen_scores(captions[2:], base_only, _Embedder(table), _MaskedLM())


def _fake_runs(runs: Path, seeds, values) -> None:
    for arm, spec in rc.ARMS.items():
        grid = spec.learning_rates or [None]
        for seed in seeds:
            for index, setting in enumerate(grid):
                chosen = index == len(grid) - 1  # the last grid value wins on validation
                if seed != 0 and not chosen:
                    continue
                test = {key: values[arm][seed].get(key, 1.0) for key in rc.SCORE_KEYS}
                path = mc.run_path(runs, 2, seed, arm, setting)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"validation_base_top1": 90.0 if chosen else 50.0, "validation_cider_d": 1.0, "test": test}))


def test_table_verdicts_and_the_method_claims_rows(tmp_path):
    values = {arm: {s: {"zsl_top1": 35.0 + s, "cider_d": 2.0, "gzsl_h": 40.0, "grammatical": 0.9} for s in (0, 1)} for arm in rc.ARMS}
    for seed in (0, 1):
        values["cls_r"][seed].update(zsl_top1=80.0 + seed, cider_d=0.5, grammatical=0.2)
        values["cls_r_clip_r"][seed].update(zsl_top1=82.0 + seed, cider_d=0.6)
        values["cls_r_grammar"][seed].update(zsl_top1=70.0, cider_d=0.55, grammatical=0.21)
        values["regen"][seed].update(zsl_top1=85.0 + seed, gzsl_h=60.0 + seed, cider_d=1.5 + seed / 10)
    runs = tmp_path / "runs"
    _fake_runs(runs, [0, 1], values)
    table = mc.build_table(runs, 2, [0, 1], list(rc.CLAIMS), 0, rc.SUITE)
    assert table["arms"]["min_length"]["learning_rate"] == "6" and table["arms"]["cls_r"]["learning_rate"] == "0.0003"
    assert table["arms"]["cls_r"]["validation_grid"] == {"3e-05": 50.0, "0.0001": 50.0, "0.0003": 90.0}
    verdicts = {name: row["verdict"] for name, row in table["claims"].items()}
    # cls_r: +45 / +45 novel over both controls (noise 0.7), CIDEr-D 0.5 < 2.0: holds. clip_r: +2 not worse.
    # grammar: +0.01 grammatical with no seed noise is a (tiny) gain; CIDEr-D +0.05: holds. regen: all four hold.
    assert verdicts == {"regen_cls_r": "holds", "regen_clip_r": "holds", "regen_grammar_r": "holds", "regen_all": "holds"}
    assert table["claims"]["regen_all"]["comparisons"][2]["diffs"] == pytest.approx([20.0, 21.0])

    readme = tmp_path / "README.md"
    readme.write_text(f"{rc.README_START}\nstale figures\n{rc.README_END}\n")
    settings = {"steps": 400, "num_train": 2000, "num_test": 400, "action_caption_prob": 0.4, "hidden_size": 64}
    text = rc.write_outputs(table, settings, str(tmp_path / "regen"), readme)
    assert "| zsl_top1 (higher)" not in text and "cls_r vs xe_continued: zsl_top1 (higher) | 80.500 ± 0.707 | 35.500 ± 0.707 | +45.000, +45.000 | holds |" in text
    assert (tmp_path / "regen.png").read_bytes()[:4] == b"\x89PNG" and "stale figures" not in readme.read_text()
    # The claim rows join the method-claims table, naming the script that measured them.
    rows = mc.plugin_claims({"regen_claims": tmp_path / "regen.json"})
    assert set(rows) == set(rc.CLAIMS) and rows["regen_all"]["source"] == "benchmarks/regen_claims.py"
    assert mc.plugin_claims({"regen_claims": tmp_path / "absent.json"}) == {}
    combined = mc.build_table(tmp_path / "none", 2, [0], ["scst_vs_xe"], 0)
    combined["claims"].update(rows)
    mc_settings = {"steps": 400, "num_train": 3000, "num_test": 300, "xe_lr": 1e-3, "xe_max_steps": 4000, "eval_steps": 250, "patience": 3, "min_delta": 0.02}
    assert "**regen_all**: all three rewards" in mc.markdown(combined, mc_settings)
    assert "`benchmarks/regen_claims.py`, its own settings" in mc.markdown(combined, mc_settings)


def test_the_readme_section_is_the_committed_table():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(rc.README_START) + len(rc.README_START) : readme.index(rc.README_END)].strip()
    committed = ROOT / "benchmarks" / "results" / "regen_claims.md"
    assert section == (committed.read_text().strip() if committed.exists() else "")
