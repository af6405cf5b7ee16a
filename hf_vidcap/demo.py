"""What the demo Space (``spaces/captioner/``) shows for one video, as a library object, and the Gradio page around it.

`CaptionDemo` runs a captioner checkpoint on one video: the frames it samples (exactly what the model sees), the
greedy caption, and K sampled captions, each scored by a reward the user picks (any of the library's registered
rewards that can score one video: BLEU-4 and CIDEr-D against reference captions the user types, the SCST diversity
term among the K samples, CLIP-S when a CLIP checkpoint is configured). `build_demo_app` wraps it in a Gradio
``Blocks`` page; the Space's ``app.py`` only reads its settings from the environment and launches it.

    >>> demo = CaptionDemo("outputs/shapes_tiny_scst")  # doctest: +SKIP
    >>> out = demo("data/shapes/videos/test/00000.mp4", reward="bleu", references=["a red circle moves left"])  # doctest: +SKIP
    >>> out.greedy, out.samples[0], out.rewards[0]  # doctest: +SKIP
    ('a red circle moves left', 'a red circle is moving left', 0.54)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# Rewards that score the captions of one video on their own. CIDEr-D needs document frequencies from a corpus
# (with one video every n-gram's idf is log(1/1) = 0), so it is offered only with a reference dataset.
REFERENCE_FREE_REWARDS = ("diversity",)
REFERENCE_REWARDS = ("bleu", "cider_d")
CLIP_REWARDS = ("clip_score",)
REWARD_LABELS = {
    "bleu": "BLEU-4 against your references",
    "cider_d": "CIDEr-D against your references (document frequencies of the reference dataset)",
    "diversity": "diversity among the samples (SCST exploration term, no references)",
    "clip_score": "CLIP-S: caption vs frames (the configured CLIP)",
}


@dataclass
class DemoOutput:
    """One video's result: ``frames`` (T, H, W, 3) uint8 as the model saw them, the ``greedy`` caption, the K
    ``samples`` and their ``rewards`` under ``reward`` (None where the reward does not apply)."""

    frames: np.ndarray
    greedy: str
    samples: list[str]
    rewards: list[float | None]
    reward: str
    frame_indices: list[int] = field(default_factory=list)

    def table(self) -> list[list]:
        """Rows ``[sample, reward]``, best reward first; a sample that ended at once reads "(empty caption)"."""
        rows = [
            [s or "(empty caption)", None if r is None else round(float(r), 4)] for s, r in zip(self.samples, self.rewards)
        ]
        return sorted(rows, key=lambda row: -np.inf if row[1] is None else -row[1])


class CaptionDemo:
    """A captioner checkpoint (path, Hub repo id or model object) with the rewards the demo offers.

    Args:
        model (`str` or `PreTrainedModel`): the captioner; a path or Hub repo id is loaded with
            `AutoModelForVideoCaptioning` and its processor.
        processor (*optional*): its `VideoCaptionProcessor` (with a model object).
        rewards (`Sequence[str]`, *optional*): registered reward names to offer; default: BLEU-4 and diversity,
            plus CIDEr-D with ``reference_dataset`` and CLIP-S with ``clip_model``.
        reference_dataset (`datasets.Dataset`, *optional*): a split whose ``references_column`` fixes CIDEr-D's
            document frequencies (the training split the model was tuned on).
        clip_model (`str`, *optional*): a CLIP checkpoint for CLIP-S.
        num_frames (`int`, *optional*): frames sampled per video (default: what the model's frame slots take).
        max_new_tokens (`int`, *optional*, defaults to 20).
    """

    def __init__(
        self,
        model,
        processor=None,
        rewards: Sequence[str] | None = None,
        reference_dataset=None,
        references_column: str = "captions",
        clip_model: str | None = None,
        num_frames: int | None = None,
        max_new_tokens: int = 20,
    ):
        from transformers import pipeline

        from . import pipelines  # noqa: F401  (registers the video-captioning task)
        from .captioning import default_num_frames
        from .rewards import build_rewards

        self.captioner = pipeline("video-captioning", model=model, processor=processor)
        self.num_frames = num_frames or default_num_frames(
            self.captioner.model, self.captioner.video_processor_, fallback=8
        )
        self.max_new_tokens = max_new_tokens
        self.references_column = references_column
        if rewards is None:
            rewards = (
                ["bleu", "diversity"]
                + (["cider_d"] if reference_dataset is not None else [])
                + (["clip_score"] if clip_model else [])
            )
        unknown = [name for name in rewards if name not in REWARD_LABELS]
        if unknown:
            raise ValueError(
                f"reward(s) {unknown} cannot score one video in the demo; choose from {sorted(REWARD_LABELS)}."
            )
        if "cider_d" in rewards and reference_dataset is None:
            raise ValueError(
                "reward 'cider_d' needs reference_dataset= (its document frequencies); with one video every idf is 0."
            )
        if any(name in CLIP_REWARDS for name in rewards) and not clip_model:
            raise ValueError("reward 'clip_score' needs clip_model= (a CLIP checkpoint).")
        kwargs = {name: {"clip_model": clip_model} for name in CLIP_REWARDS if name in rewards}
        self.rewards = {
            name: build_rewards([name], kwargs, reference_dataset, references_column)[0] for name in rewards
        }

    def frames(self, video) -> tuple[np.ndarray, list[int]]:
        """The frames the model sees: ``num_frames`` sampled uniformly (a path, a ``{"path": ...}`` dict or decoded
        (T, H, W, 3) frames)."""
        from .data import decode_video, sample_frame_indices

        if isinstance(video, np.ndarray):
            if video.ndim != 4 or video.shape[-1] != 3:
                raise ValueError(f"decoded frames must be a (T, H, W, 3) array; got shape {video.shape}.")
            indices, _ = sample_frame_indices(len(video), self.num_frames, "uniform", "error")
            return video[indices], [int(i) for i in indices]
        if not isinstance(video, (str, os.PathLike, dict)):
            raise TypeError(
                f"a video is a path, a {{'path': ...}} dict or a (T, H, W, 3) array; got {type(video).__name__}."
            )
        return decode_video(video, self.num_frames), []

    def __call__(
        self,
        video,
        reward: str = "bleu",
        references: Sequence[str] | str = (),
        num_samples: int = 5,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> DemoOutput:
        import torch

        if reward not in self.rewards:
            raise ValueError(f"reward {reward!r} is not offered by this demo; choose from {sorted(self.rewards)}.")
        if not 1 <= int(num_samples) <= 32:
            raise ValueError(f"num_samples must be between 1 and 32; got {num_samples}.")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0; got {temperature} (use the greedy caption for temperature 0).")
        if isinstance(references, str):  # one reference per line, as typed in the page
            references = [line.strip() for line in references.splitlines()]
        references = [r for r in references if r and r.strip()]
        if reward in REFERENCE_REWARDS and not references:
            raise ValueError(
                f"reward {reward!r} compares the samples with reference captions: type at least one (one per line)."
            )
        frames, indices = self.frames(video)
        greedy = self.captioner(frames, max_new_tokens=self.max_new_tokens)[0]["generated_text"]
        torch.manual_seed(int(seed))
        sampled = self.captioner(
            frames,
            max_new_tokens=self.max_new_tokens,
            do_sample=True,
            top_k=0,
            temperature=float(temperature),
            num_return_sequences=int(num_samples),
        )
        samples = [s["generated_text"] for s in sampled]
        k = len(samples)
        values = self.rewards[reward](
            prompts=[""] * k,
            completions=samples,
            group_ids=[0] * k,
            video_ids=["video"] * k,
            video_frames=[frames] * k,
            **{self.references_column: [list(references)] * k},
        )
        values = [None if v is None else float(v) for v in values]
        return DemoOutput(
            frames=frames,
            greedy=greedy,
            samples=samples,
            rewards=values,
            reward=reward,
            frame_indices=indices or list(range(len(frames))),
        )


def build_demo_app(demo: CaptionDemo, title: str = "hf_vidcap video captioner", examples: Sequence[str] = ()):
    """A Gradio ``Blocks`` page for ``demo``: a video (uploaded or picked from ``examples``), the reward, reference
    captions, K and the temperature in; the greedy caption, the K samples with their rewards and the frames out."""
    import gradio as gr

    choices = [(REWARD_LABELS[name], name) for name in demo.rewards]

    def run(video, reward, references, num_samples, temperature, seed):
        if not video:
            raise gr.Error("upload a video (or pick an example) first.")
        try:
            out = demo(
                video,
                reward=reward,
                references=references or "",
                num_samples=int(num_samples),
                temperature=float(temperature),
                seed=int(seed),
            )
        except (ValueError, TypeError, OSError) as error:
            raise gr.Error(str(error)) from error
        gallery = [(frame, f"frame {i}") for frame, i in zip(out.frames, out.frame_indices)]
        return out.greedy, out.table(), gallery

    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(
            f"# {title}\nThe greedy caption, K sampled captions scored by a reward, and the frames the model saw."
        )
        with gr.Row():
            with gr.Column():
                video = gr.Video(label="video", sources=["upload"], elem_id="video")
                reward = gr.Dropdown(choices=choices, value=choices[0][1], label="reward", elem_id="reward")
                references = gr.Textbox(label="reference captions (one per line)", lines=3, elem_id="references")
                with gr.Row():
                    num_samples = gr.Slider(1, 16, value=5, step=1, label="K samples", elem_id="num_samples")
                    temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.1, label="temperature")
                    seed = gr.Number(value=0, precision=0, label="seed")
                button = gr.Button("Caption", variant="primary", elem_id="caption_button")
                if examples:
                    gr.Examples(examples=[[e] for e in examples], inputs=[video])
            with gr.Column():
                greedy = gr.Textbox(label="greedy caption", interactive=False, elem_id="greedy_caption")
                samples = gr.Dataframe(
                    headers=["sampled caption", "reward"], label="K samples", elem_id="samples", interactive=False
                )
                gallery = gr.Gallery(label="frames the model saw", columns=8, height=160, elem_id="frames")
        button.click(
            run, inputs=[video, reward, references, num_samples, temperature, seed], outputs=[greedy, samples, gallery]
        )
    return app


def _reference_split(source: str):
    """The split whose captions fix CIDEr-D's document frequencies: a shapes world folder (its train split), a
    folder written by ``Dataset.save_to_disk``, or a JSON / JSONL file with a ``captions`` column."""
    from pathlib import Path

    import datasets

    path = Path(source)
    if path.suffix in (".json", ".jsonl"):
        return datasets.load_dataset("json", data_files=str(path), split="train")
    if (path / "shapes_config.json").exists():
        from .data import load_shapes_dataset

        return load_shapes_dataset(path)["train"]
    if path.is_dir():
        loaded = datasets.load_from_disk(str(path))
        return loaded["train"] if isinstance(loaded, datasets.DatasetDict) else loaded
    raise FileNotFoundError(
        f"HF_VIDCAP_REFERENCES={source!r} is not a shapes world folder, a saved dataset or a JSON/JSONL file."
    )


def demo_from_environment(environ=None, root: str | os.PathLike = ".") -> tuple[CaptionDemo, list[str]]:
    """The Space's settings (its Variables): ``HF_VIDCAP_MODEL`` (the checkpoint; default ``<root>/model``),
    ``HF_VIDCAP_REFERENCES`` (optional, for CIDEr-D), ``HF_VIDCAP_CLIP_MODEL`` (optional, for CLIP-S),
    ``HF_VIDCAP_EXAMPLES`` (a folder of example videos; default ``<root>/examples``), ``HF_VIDCAP_MAX_NEW_TOKENS``,
    ``HF_VIDCAP_NUM_FRAMES`` (default: what the model's frame slots take, else 8).
    Returns the demo and the example videos."""
    from pathlib import Path

    environ = os.environ if environ is None else environ
    root = Path(root)
    model = environ.get("HF_VIDCAP_MODEL") or (str(root / "model") if (root / "model").is_dir() else None)
    if not model:
        raise ValueError(
            f"set HF_VIDCAP_MODEL to a captioner checkpoint (a Hub repo id or a path), or put one in {root / 'model'}."
        )
    references = environ.get("HF_VIDCAP_REFERENCES")
    demo = CaptionDemo(
        model,
        reference_dataset=_reference_split(references) if references else None,
        clip_model=environ.get("HF_VIDCAP_CLIP_MODEL") or None,
        max_new_tokens=int(environ.get("HF_VIDCAP_MAX_NEW_TOKENS", 20)),
        num_frames=int(environ["HF_VIDCAP_NUM_FRAMES"]) if environ.get("HF_VIDCAP_NUM_FRAMES") else None,
    )
    folder = Path(environ.get("HF_VIDCAP_EXAMPLES") or root / "examples")
    examples = sorted(str(p) for p in folder.glob("*.mp4")) if folder.is_dir() else []
    return demo, examples
