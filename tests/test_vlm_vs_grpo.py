"""benchmarks/vlm_vs_grpo.py runs both trainers on the same tiny Qwen2-VL and counts the vision tower's work: ours
encodes each input once per step, TRL's GRPOTrainer every completion's copy, in generation and again in the loss."""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
_spec = importlib.util.spec_from_file_location("vlm_vs_grpo", ROOT / "benchmarks" / "vlm_vs_grpo.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["vlm_vs_grpo"] = bench
_spec.loader.exec_module(bench)


def test_a_short_run_writes_the_report_and_counts_the_vision_work(tmp_path):
    output = tmp_path / "vlm_vs_grpo"
    report = bench.main(["--rounds", "1", "--steps", "1", "--warmup", "0", "--num-videos", "8", "--inputs", "2", "--k", "3", "--length", "4",
                         "--data-dir", str(tmp_path / "data"), "--output", str(output)])
    ours, grpo = report["summary"]["ours"], report["summary"]["grpo"]
    assert ours["vision_calls_per_step"] == 1.0 and ours["images_per_step"] == 2.0  # 2 videos, once
    assert grpo["images_per_step"] == 2 * 3 * 2  # 2 prompts x K = 3 copies, for generation and for the loss
    assert json.loads((tmp_path / "vlm_vs_grpo.json").read_text())["grpo_over_ours"] == report["grpo_over_ours"] > 0
    assert (tmp_path / "vlm_vs_grpo.png").read_bytes()[:4] == b"\x89PNG" and "| GRPOTrainer" in (tmp_path / "vlm_vs_grpo.md").read_text()
