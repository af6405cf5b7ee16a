"""benchmarks/method_claims.py: the verdict rule on hand-made numbers, the table from a fake set of stored runs
(JSON, Markdown, PNG and the README section agree), and the README section is the committed table."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
_spec = importlib.util.spec_from_file_location("method_claims", ROOT / "benchmarks" / "method_claims.py")
mc = importlib.util.module_from_spec(_spec)
sys.modules["method_claims"] = mc  # dataclasses look their module up
_spec.loader.exec_module(mc)


def test_verdict_rule_on_hand_made_numbers():
    # a - b = +0.3, +0.2, +0.4: mean +0.3; stds: a (1.0, 1.1, 1.2) = 0.1, b (0.7, 0.9, 0.8) = 0.1 -> 0.3 > 0.1: holds.
    v = mc.verdict([1.0, 1.1, 1.2], [0.7, 0.9, 0.8], "higher")
    assert v["verdict"] == "holds" and v["mean_diff"] == pytest.approx(0.3) and v["noise"] == pytest.approx(0.1)
    assert v["diffs"] == pytest.approx([0.3, 0.2, 0.4])
    # Same numbers, claim "lower": the signed mean is -0.3 < -0.1: reversed.
    assert mc.verdict([1.0, 1.1, 1.2], [0.7, 0.9, 0.8], "lower")["verdict"] == "reversed"
    # Mean diff +0.05 but a's std is 0.5 (values 0, 0.5, 1.0): the margin does not exceed the noise.
    assert mc.verdict([0.0, 0.5, 1.0], [-0.05, 0.45, 0.95], "higher")["verdict"] == "within noise"
    # not_worse: -0.05 against noise 0.5 is not worse; -1.0 against noise 0.1 is reversed.
    assert mc.verdict([0.0, 0.5, 1.0], [0.05, 0.55, 1.05], "not_worse")["verdict"] == "holds"
    assert mc.verdict([0.0, 0.1, 0.2], [1.0, 1.1, 1.2], "not_worse")["verdict"] == "reversed"
    # One seed: no noise estimate, the direction decides.
    assert mc.verdict([0.6], [0.5], "higher")["verdict"] == "holds"
    assert mc.claim_verdict([{"verdict": "holds"}, {"verdict": "within noise"}]) == "within noise"
    assert mc.claim_verdict([{"verdict": "holds"}, {"verdict": "reversed"}]) == "reversed"
    assert mc.claim_verdict([{"verdict": "holds"}] * 3) == "holds"
    with pytest.raises(ValueError, match="same non-zero number of seeds"):
        mc.verdict([1.0, 2.0], [1.0], "higher")
    with pytest.raises(ValueError, match="direction"):
        mc.verdict([1.0], [1.0], "bigger")


def _fake_runs(runs: Path, seeds, values) -> None:
    """Stored runs as the benchmark writes them; ``values[arm][seed]`` fills every score key."""
    for arm, spec in mc.ARMS.items():
        for seed in seeds:
            lrs = spec.learning_rates or [None]
            for index, lr in enumerate(lrs):
                chosen = index == 1 if len(lrs) > 1 else True  # the second grid value wins on validation
                if seed != 0 and not chosen:
                    continue
                test = {key: values[arm][seed] for key in mc.SCORE_KEYS}
                path = mc.run_path(runs, 2, seed, arm, lr)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"validation_cider_d": 1.0 if chosen else 0.5, "test": test}))


def test_table_from_fake_runs(tmp_path):
    values = {arm: {0: 1.0, 1: 1.2} for arm in mc.ARMS}
    values["scst"] = {0: 2.0, 1: 2.2}  # beats xe and the control by +1.0 on both seeds, noise 0.14
    values["sle"] = {0: 2.05, 1: 2.15}  # diversity: higher than scst by ~0 -> within noise; mBLEU "lower" fails too
    runs = tmp_path / "runs"
    _fake_runs(runs, [0, 1], values)
    table = mc.build_table(runs, 2, [0, 1], ["scst_vs_xe", "scst_vs_xe_continued", "sle_vs_sll"], select_seed=0)
    assert table["arms"]["scst"]["learning_rate"] == "5e-05" and table["arms"]["xe_continued"]["learning_rate"] == "0.0001"
    assert table["arms"]["scst"]["validation_grid"] == {"2e-05": 0.5, "5e-05": 1.0, "0.0001": 0.5}
    assert table["claims"]["scst_vs_xe"]["verdict"] == "holds"
    assert table["claims"]["scst_vs_xe"]["comparisons"][0]["diffs"] == pytest.approx([1.0, 1.0])
    assert table["claims"]["scst_vs_xe_continued"]["verdict"] == "holds"
    assert table["claims"]["sle_vs_sll"]["verdict"] == "within noise"
    assert not table["missing"]

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{mc.README_START}\nstale figures\n{mc.README_END}\n\nafter\n")
    settings = {"steps": 400, "num_train": 3000, "num_test": 300, "xe_lr": 1e-3, "xe_max_steps": 4000, "eval_steps": 250, "patience": 3, "min_delta": 0.02}
    text = mc.write_outputs(table, settings, str(tmp_path / "out"), readme)
    stored = json.loads((tmp_path / "out.json").read_text())
    assert stored["claims"]["scst_vs_xe"]["verdict"] == "holds" and stored["settings"]["steps"] == 400
    assert (tmp_path / "out.md").read_text() == text and (tmp_path / "out.png").read_bytes()[:4] == b"\x89PNG"
    assert "| scst vs xe: greedy_cider_d (higher) | 2.100 ± 0.141 | 1.100 ± 0.141 | +1.000, +1.000 | holds → claim **holds** |" in text
    assert "| sle vs scst: rs_cider_d (not worse) | 2.100 ± 0.071 | 2.100 ± 0.141 | +0.050, -0.050 | holds → claim **within noise** |" in text
    assert "stale figures" not in readme.read_text() and text in readme.read_text() and readme.read_text().endswith("after\n")


def test_missing_runs_are_listed_not_invented(tmp_path):
    values = {arm: {0: 1.0, 1: 1.0} for arm in mc.ARMS}
    _fake_runs(tmp_path, [0], values)
    table = mc.build_table(tmp_path, 2, [0, 1], ["scst_vs_xe"], select_seed=0)
    assert table["missing"] == ["scst seed 1", "xe seed 1"]
    assert table["claims"]["scst_vs_xe"]["comparisons"][0]["seeds"] == [0]
    settings = {"steps": 400, "num_train": 3000, "num_test": 300, "xe_lr": 1e-3, "xe_max_steps": 4000, "eval_steps": 250, "patience": 3, "min_delta": 0.02}
    assert "within noise (1 of 2 seeds) → claim **within noise** |" in mc.markdown(table, settings)  # a partial verdict says so
    (tmp_path / "world2" / "seed0" / "scst@2e-05.json").unlink()  # the lr grid is incomplete: nothing is chosen
    table = mc.build_table(tmp_path, 2, [0], ["scst_vs_xe"], select_seed=0)
    assert table["claims"]["scst_vs_xe"]["verdict"] == "not run"
    assert "scst (learning-rate selection on seed 0)" in table["missing"]


def test_the_readme_section_is_the_committed_table():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(mc.README_START) + len(mc.README_START) : readme.index(mc.README_END)]
    assert section.strip() == (ROOT / "benchmarks" / "results" / "method_claims.md").read_text().strip()
