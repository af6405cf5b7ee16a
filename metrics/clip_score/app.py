"""The Space's widget: the metric loaded from this folder."""

from pathlib import Path

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load(str(Path(__file__).with_name("clip_score.py")))
launch_gradio_widget(module)
