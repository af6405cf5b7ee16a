"""What a run leaves: training_curves.png (the panels from a hand-made log history; a real run writing it) and
trainer_state.json."""

import json

from helpers import make_args, make_model_and_processor

from hf_vidcap.rewards import get_cider_d_reward
from hf_vidcap.trainer import VideoSCSTTrainer
from hf_vidcap.trainer.curves import CURVES_FILE, STATE_FILE, curve_panels


def test_panels_from_a_log_history():
    history = [
        {"step": 1, "loss": "0.5", "rewards/cider_d/mean": 1.0, "rewards/cider_d/std": 0.2, "reward": 1.0, "reward_greedy": 0.9, "kl": 0.01},
        {"step": 2, "loss": 0.4, "loss/weighted_teacher_forcing": 0.1, "rewards/cider_d/mean": "1.5", "rewards/cider_d/std": 0.3, "reward": 1.5, "reward_greedy": 1.0, "kl": "nan"},
        {"step": 2, "eval_cider_d": 0.7, "eval_runtime": 3.0, "eval_zsl_top1_accuracy_std": 1.0, "epoch": 1.0},
        {"step": 2, "train_runtime": 9.0, "note": "text is not a number"},
    ]
    panels = dict(curve_panels(history))
    assert list(panels) == ["reward per function (mean)", "reward std", "loss", "KL / entropy", "evaluation"]
    assert panels["reward per function (mean)"] == {"rewards/cider_d/mean": [(1, 1.0), (2, 1.5)], "reward": [(1, 1.0), (2, 1.5)], "reward_greedy": [(1, 0.9), (2, 1.0)]}
    assert panels["loss"] == {"loss": [(1, 0.5), (2, 0.4)], "loss/weighted_teacher_forcing": [(2, 0.1)]}  # strings are read as numbers
    assert panels["KL / entropy"] == {"kl": [(1, 0.01)]}  # a non-finite value is left out
    assert panels["evaluation"] == {"eval_cider_d": [(2, 0.7)]}  # no runtimes, stds or epochs
    assert curve_panels([]) == []


def test_a_run_writes_its_training_curves(tokenizer, shapes_dataset, tmp_path):
    model, processor = make_model_and_processor(tokenizer)
    reward = get_cider_d_reward(shapes_dataset["train"]["captions"])
    trainer = VideoSCSTTrainer(model, reward, make_args(tmp_path / "on"), shapes_dataset["train"], None, processor)
    trainer.train()
    picture = tmp_path / "on" / CURVES_FILE
    assert picture.read_bytes()[:4] == b"\x89PNG"
    # The log history is kept with save_strategy="no" too, with numbers as numbers.
    state = json.loads((tmp_path / "on" / STATE_FILE).read_text())
    assert state["global_step"] == 2 and isinstance(state["log_history"][0]["loss"], float)
    trainer = VideoSCSTTrainer(model, reward, make_args(tmp_path / "off", training_curves=False), shapes_dataset["train"], None, processor)
    trainer.train()
    assert not (tmp_path / "off" / CURVES_FILE).exists()
