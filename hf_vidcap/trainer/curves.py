"""What a training run leaves in its output directory when it ends: ``trainer_state.json`` (the log history, also
with ``save_strategy="no"``) and ``training_curves.png``, a picture of the log history.

Panels (each only when the run logged it): the reward of each reward function (mean over the step's completions)
with the greedy baseline's reward, the reward standard deviations, the losses, KL / entropy, and every evaluation
metric over steps. Written at the end of training by `TrainingCurvesCallback` (``VideoSCSTConfig.training_curves``),
or from any ``trainer.state.log_history`` with `plot_training_curves`. Needs matplotlib (the ``bench`` or ``dev``
extra); without it the callback logs that it skipped the picture.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from transformers import TrainerCallback

logger = logging.getLogger(__name__)
CURVES_FILE = "training_curves.png"
STATE_FILE = "trainer_state.json"
_NOT_METRICS = ("runtime", "samples_per_second", "steps_per_second", "epoch", "num_draws")


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def curve_panels(log_history: list[dict]) -> list[tuple[str, dict[str, list[tuple[int, float]]]]]:
    """``[(title, {series: [(step, value), ...]}), ...]``: the panels `plot_training_curves` draws, from a
    transformers log history (numbers given as strings are read as numbers)."""
    series: dict[str, list[tuple[int, float]]] = {}
    for entry in log_history:
        step = int(entry.get("step", 0))
        for key, value in entry.items():
            number = _number(value)
            if key != "step" and number is not None:
                series.setdefault(key, []).append((step, number))
    keys = sorted(series)
    groups = [
        ("reward per function (mean)", [k for k in keys if k.startswith("rewards/") and k.endswith("/mean")] + [k for k in ("reward", "reward_greedy") if k in series]),
        ("reward std", [k for k in keys if k.startswith("rewards/") and k.endswith("/std")] + [k for k in ("reward_std", "advantage_std") if k in series]),
        ("loss", [k for k in keys if k == "loss" or k.startswith("loss/")]),  # loss/policy, loss/weighted_teacher_forcing, ...
        ("KL / entropy", [k for k in ("kl", "entropy") if k in series]),
        ("evaluation", [k for k in keys if k.startswith("eval_") and not k.endswith(_NOT_METRICS) and not k.endswith("_std")]),
    ]
    return [(title, {k: series[k] for k in names}) for title, names in groups if names]


def plot_training_curves(log_history: list[dict], path: str | Path, title: str | None = None) -> Path | None:
    """Draw `curve_panels` of ``log_history`` into ``path`` (PNG). Returns the path, or None when nothing was
    logged."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = curve_panels(log_history)
    if not panels:
        return None
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    for ax, (name, lines) in zip(axes.flat, panels):
        for label, points in lines.items():
            steps, values = zip(*points)
            ax.plot(steps, values, marker="o" if len(points) < 20 else None, markersize=3, label=label)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


class RunRecordCallback(TrainerCallback):
    """Writes ``<output_dir>/trainer_state.json`` when training ends (main process only), whatever the save
    strategy, so that a run's logged numbers outlive its console."""

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            Path(args.output_dir).mkdir(parents=True, exist_ok=True)
            state.save_to_json(str(Path(args.output_dir) / STATE_FILE))


class TrainingCurvesCallback(TrainerCallback):
    """Writes ``<output_dir>/training_curves.png`` when training ends (main process only)."""

    def on_train_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            logger.warning("training_curves: matplotlib is not installed (pip install 'hf-vidcap[bench]'); no picture written.")
            return
        path = plot_training_curves(state.log_history, Path(args.output_dir) / CURVES_FILE, title=Path(args.output_dir).name)
        if path is not None:
            logger.warning(f"training curves: {path}")
