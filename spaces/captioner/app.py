"""The hf_vidcap demo Space: caption a video with a trained captioner, sample K captions scored by a reward, and
show the frames the model saw. Settings come from the Space's variables (see README.md); locally:

    HF_VIDCAP_MODEL=outputs/shapes_tiny_scst HF_VIDCAP_REFERENCES=data/shapes python spaces/captioner/app.py
"""

from pathlib import Path

from hf_vidcap.demo import build_demo_app, demo_from_environment

demo, examples = demo_from_environment(root=Path(__file__).resolve().parent)
app = build_demo_app(demo, examples=examples)

if __name__ == "__main__":
    app.launch()  # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose the address
