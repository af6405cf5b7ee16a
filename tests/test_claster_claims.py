"""benchmarks/claster_claims.py: settings parsing, the table and verdicts from fake stored runs (an arm without
clusters has no purity), Fig. 4's projection, its rows joining the method-claims table, and the README section is
the committed table."""

import importlib.util
import json
import sys
from pathlib import Path

import datasets
import pytest
import torch

ROOT = Path(__file__).parents[1]
_spec = importlib.util.spec_from_file_location("claster_claims", ROOT / "benchmarks" / "claster_claims.py")
cc = importlib.util.module_from_spec(_spec)
sys.modules["claster_claims"] = cc
_spec.loader.exec_module(cc)
mc = cc.mc


def test_settings_name_the_mlp_and_centroid_learning_rates():
    assert cc.parse_setting("1e-4") == (1e-4, None)
    assert cc.parse_setting("1e-3/c1e-2") == (1e-3, 1e-2)
    assert all("/c" in s for s in cc.ARMS["without_rl"].learning_rates)  # the control's centroid rate is searched too
    assert set(cc.ARMS) == set(__import__("hf_vidcap.trainer", fromlist=["CLASTER_ABLATIONS"]).CLASTER_ABLATIONS)


def _fake_runs(runs: Path, draws, zsl: dict, purity: dict) -> None:
    for arm, spec in cc.ARMS.items():
        grid = spec.learning_rates
        for index, setting in enumerate(grid):
            chosen = index == len(grid) - 1  # the last setting wins on validation
            path = mc.run_path(runs, cc.WORLD, cc.SELECT_SEED, arm, setting)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"validation_zsl": 30.0 if chosen else 20.0, "validation_gzsl": 1.0}))
            if not chosen:
                continue
            for draw in draws:
                test = {"zsl_accuracy": zsl[arm] + draw, "gzsl_harmonic_mean": 10.0, "gzsl_seen_accuracy": 50.0, "gzsl_unseen_accuracy": 5.0, "unseen_purity": 0.3}
                if arm != "no_clustering":
                    test.update(train_purity_before=0.5, train_purity=purity.get(arm, 0.5) + 0.01 * draw)
                path = mc.run_path(runs, cc.WORLD, draw, arm, setting)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"test": test, "train_seconds": 10.0}))


def test_table_verdicts_and_the_method_claims_rows(tmp_path):
    zsl = {"random_clustering": 20.0, "no_clustering": 25.0, "kmeans": 30.0, "without_rl": 31.0, "without_semantic_embeddings": 28.0, "claster": 40.0}
    runs = tmp_path / "runs"
    _fake_runs(runs, [0, 1, 2], zsl, {"claster": 0.8})
    table = mc.build_table(runs, cc.WORLD, [0, 1, 2], list(cc.CLAIMS), cc.SELECT_SEED, cc.SUITE)
    assert table["arms"]["without_rl"]["learning_rate"] == "1e-3/c1e-1" and table["arms"]["claster"]["learning_rate"] == "1e-3"
    assert "train_purity" not in table["arms"]["no_clustering"]["test"]  # no clusters, no purity: left out
    verdicts = {name: row["verdict"] for name, row in table["claims"].items()}
    # w/o RL beats K-means by 1 point with a draw std of 1: within noise; everything else holds
    assert verdicts == {"claster_over_kmeans_and_sgd": "holds", "claster_order": "within noise", "claster_semantic": "holds", "claster_purity": "holds"}
    readme = tmp_path / "README.md"
    readme.write_text(f"{cc.README_START}\nstale figures\n{cc.README_END}\n")
    settings = {"steps": 3000, "hidden_size": 256, "clips_per_class": 30, "encoder_hidden_size": 64, "encoder_steps": 1500, "encoder_lr": 1e-3, "validation_draws": [100, 101]}
    text = mc.write_outputs(table, settings, str(tmp_path / "claster"), readme, cc.markdown, lambda t, p: cc.plot(t, p, runs), (cc.README_START, cc.README_END))
    assert "claster vs kmeans: zsl_accuracy (higher) | 41.000 ± 1.000 | 31.000 ± 1.000 | +10.000, +10.000, +10.000 | holds |" in text
    assert "| no_clustering: No clustering (omega = psi) | 1e-3 (1e-4: 20.0, 1e-3: 30.0) | 3 | 26.0 ± 1.0 | 10.0 ± 0.0 | 50.0 ± 0.0 | 5.0 ± 0.0 | – | – |" in text
    assert (tmp_path / "claster.png").read_bytes()[:4] == b"\x89PNG" and "stale figures" not in readme.read_text()
    rows = mc.plugin_claims({"claster_claims": tmp_path / "claster.json"})
    assert set(rows) == set(cc.CLAIMS) and rows["claster_purity"]["source"] == "benchmarks/claster_claims.py"
    assert "claster_claims" in mc.PLUGINS


def test_fig4_projection_is_two_dimensional_with_the_classes():
    from hf_vidcap.models import ClasterConfig, ClasterForZeroShotVideoClassification

    torch.manual_seed(0)
    model = ClasterForZeroShotVideoClassification(ClasterConfig(visual_size=5, semantic_size=3, hidden_size=8, num_clusters=2, class_names=list("abcd"), seen_classes=[0, 1], rectification_neighbors=1))
    model.set_class_embeddings(torch.randn(4, 3))
    model.initialize_centroids(torch.randn(6, 5), torch.tensor([0, 1, 0, 1, 0, 1]))
    unseen = datasets.Dataset.from_dict({"video_features": torch.randn(7, 5).tolist(), "label": [2, 3, 2, 3, 2, 3, 2]})
    projection = cc.unseen_projection(model, unseen)
    assert len(projection["x"]) == len(projection["y"]) == 7 and projection["label"] == [2, 3, 2, 3, 2, 3, 2]
    assert abs(sum(projection["x"])) < 1e-4  # centred
    json.dumps(projection)  # stored in the run's JSON


def test_the_readme_section_is_the_committed_table():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(cc.README_START) + len(cc.README_START) : readme.index(cc.README_END)].strip()
    committed = ROOT / "benchmarks" / "results" / "claster_claims.md"
    assert section == (committed.read_text().strip() if committed.exists() else "")


@pytest.mark.parametrize("name", ["claster_claims"])
def test_the_benchmark_is_a_method_claims_plugin(name):
    assert mc.PLUGINS[name] == ROOT / "benchmarks" / "results" / f"{name}.json"
