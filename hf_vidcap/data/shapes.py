"""The synthetic "shapes" video world: hf_vidcap's offline benchmark.

Each clip shows one coloured shape performing an action on a dark background, sometimes with a second,
static shape beside it. Clips are rendered with numpy, written as real H.264 ``.mp4`` files with PyAV, and
loaded back through `datasets` with reference captions that vary in synonyms, word order and optional
attributes, so that CIDEr-D is meaningful and a captioner has a consensus caption to find.

Everything is deterministic from ``seed``: the same config writes the same frames and captions.

Version 2 (lossless video encoding). The action classes carry natural-phrase names (``ACTIONS``) whose words
all occur in the captions.

What the zero-shot and distinctiveness methods need (all off by default, so the default world is unchanged):

- a base/novel split of the actions (``NOVEL_ACTIONS``: the antonyms of three base actions, as in the ReGen
  prototype) and `split_base_novel`, which gives the base-class splits to train and reward on and the novel-class
  test split;
- ``action_caption_prob`` < 1: "generic" captions that name the action only with that probability (ReGen's
  pseudo-captions), so that a class reward has something to fix (``names_action`` counts them per clip);
- ``near_duplicate_prob`` > 0: clips rendered twice with the same motion, differing in exactly one attribute
  (colour, shape, size or action; ``pair_id`` / ``differs_in``), for distinctiveness and retrieval;
- motion a tiny model can recognise: shapes span several patches and travel about half the frame; pair the clips
  with the processor's ``frame_differences`` input to make it near-perfectly recognisable.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

SHAPES_WORLD_VERSION = 2  # 2: lossless encoding (1 was x264 crf 12, whose output varied between runs)

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (225, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 90, 235),
    "yellow": (235, 225, 40),
    "purple": (165, 60, 210),
    "white": (240, 240, 240),
}
SHAPES = ("circle", "square", "triangle", "cross")
SIZES = ("small", "large")
# Class names are natural phrases (ReGen's zero-shot protocol compares captions with class names).
ACTIONS = (
    "moving left",
    "moving right",
    "moving up",
    "moving down",
    "growing",
    "shrinking",
    "rotating",
    "bouncing",
)
# Verb phrases for the captions; each list starts with the plainest wording.
_ACTION_VERBS: dict[str, list[str]] = {
    "moving left": ["moves left", "moves to the left", "slides left", "goes to the left", "travels left"],
    "moving right": ["moves right", "moves to the right", "slides right", "goes to the right", "travels right"],
    "moving up": ["moves up", "moves upward", "rises", "goes up", "slides up"],
    "moving down": ["moves down", "moves downward", "falls", "goes down", "slides down"],
    "growing": ["grows", "grows bigger", "gets bigger", "expands", "becomes larger"],
    "shrinking": ["shrinks", "gets smaller", "becomes smaller", "contracts", "shrinks down"],
    "rotating": ["rotates", "spins", "turns around", "rotates in place", "spins around"],
    "bouncing": ["bounces", "bounces up and down", "hops", "jumps up and down", "bounces around"],
}
# Present-participle forms for "there is a ... <ing>" templates.
_ACTION_INGS: dict[str, list[str]] = {
    "moving left": ["moving left", "moving to the left", "sliding left"],
    "moving right": ["moving right", "moving to the right", "sliding right"],
    "moving up": ["moving up", "rising", "going up"],
    "moving down": ["moving down", "falling", "going down"],
    "growing": ["growing", "growing bigger", "getting bigger"],
    "shrinking": ["shrinking", "getting smaller", "shrinking down"],
    "rotating": ["rotating", "spinning", "turning around"],
    "bouncing": ["bouncing", "bouncing up and down", "hopping"],
}
_BACKGROUND = (18, 18, 22)
# Held out for zero-shot evaluation: each is the antonym of a base action, so recognising it from a caption needs
# the caption to name it (a model that only learnt base names calls it by the antonym).
NOVEL_ACTIONS = ("moving right", "moving down", "shrinking")
BASE_ACTIONS = tuple(a for a in ACTIONS if a not in NOVEL_ACTIONS)
DUPLICATE_ATTRIBUTES = ("color", "shape", "size", "action")


@dataclass
class ShapesWorldConfig:
    """Settings of one generated shapes dataset.

    Args:
        num_train (`int`, *optional*, defaults to `800`): clips in the train split.
        num_validation (`int`, *optional*, defaults to `100`): clips in the validation split.
        num_test (`int`, *optional*, defaults to `100`): clips in the test split.
        num_frames (`int`, *optional*, defaults to `8`): frames per clip.
        image_size (`int`, *optional*, defaults to `64`): frame height and width in pixels.
        num_captions (`int`, *optional*, defaults to `12`): reference captions per clip (at least 10).
        second_shape_prob (`float`, *optional*, defaults to `0.3`): probability of a static second shape.
        seed (`int`, *optional*, defaults to `0`): the seed everything is derived from.
        action_caption_prob (`float`, *optional*, defaults to `1.0`): probability that a reference caption names
            the action ("generic" captions below 1: "a red circle", "there is a red circle next to a blue square").
            Each clip keeps at least one caption that names it, unless the probability is 0.
        near_duplicate_prob (`float`, *optional*, defaults to `0.0`): probability that a clip gets a twin in the
            same split: the same motion and placement, one attribute changed.
    """

    num_train: int = 800
    num_validation: int = 100
    num_test: int = 100
    num_frames: int = 8
    image_size: int = 64
    num_captions: int = 12
    second_shape_prob: float = 0.3
    seed: int = 0
    action_caption_prob: float = 1.0
    near_duplicate_prob: float = 0.0
    version: int = field(default=SHAPES_WORLD_VERSION)

    def __post_init__(self):
        for name in ("num_train", "num_validation", "num_test"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} ({getattr(self, name)}) must be >= 1.")
        if self.num_frames < 2:
            raise ValueError(f"num_frames ({self.num_frames}) must be >= 2: an action needs motion.")
        if self.image_size < 32:
            raise ValueError(f"image_size ({self.image_size}) must be >= 32 for the shapes to be legible.")
        if self.num_captions < 10:
            raise ValueError(f"num_captions ({self.num_captions}) must be >= 10 so that CIDEr-D is meaningful.")
        for name in ("second_shape_prob", "action_caption_prob", "near_duplicate_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} ({getattr(self, name)}) must be in [0, 1].")

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.num_train, "validation": self.num_validation, "test": self.num_test}


# --------------------------------------------------------------------------------------------- rendering


def _shape_mask(shape: str, cx: float, cy: float, radius: float, angle: float, size: int) -> np.ndarray:
    """Boolean (size, size) mask of ``shape`` centred at (cx, cy), rotated by ``angle`` radians."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    # Rotate the pixel grid into the shape's frame.
    dx, dy = xs - cx, ys - cy
    cos, sin = math.cos(angle), math.sin(angle)
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy
    if shape == "circle":
        return u * u + v * v <= radius * radius
    if shape == "square":
        half = radius * 0.85
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if shape == "cross":
        arm = radius * 0.35
        return ((np.abs(u) <= radius) & (np.abs(v) <= arm)) | ((np.abs(v) <= radius) & (np.abs(u) <= arm))
    if shape == "triangle":
        # Equilateral triangle pointing up (in the shape's frame), inscribed in the circle of ``radius``.
        inside = np.ones_like(u, dtype=bool)
        for k in range(3):
            theta = -math.pi / 2 + k * 2 * math.pi / 3 + math.pi / 3
            nx, ny = math.cos(theta), math.sin(theta)
            inside &= u * nx + v * ny <= radius * 0.5
        return inside
    raise ValueError(f"Unknown shape {shape!r}; valid shapes are {list(SHAPES)}.")


def _trajectory(action: str, num_frames: int, size: int, radius: float, rng: np.random.Generator):
    """Per-frame (cx, cy, radius, angle) of the actor for ``action``."""
    t = np.linspace(0.0, 1.0, num_frames)
    travel = 0.45 * size
    margin = radius + 2
    span = size - 2 * margin
    cx0 = margin + rng.uniform(0.25, 0.75) * span
    cy0 = margin + rng.uniform(0.25, 0.75) * span
    radii = np.full(num_frames, radius)
    angles = np.full(num_frames, rng.uniform(0, math.pi / 4))
    cx, cy = np.full(num_frames, cx0), np.full(num_frames, cy0)
    if action in ("moving left", "moving right", "moving up", "moving down"):
        start = margin + rng.uniform(0.0, max(span - travel, 0.0))
        path = start + travel * t
        if action == "moving left":
            cx = size - path
        elif action == "moving right":
            cx = path
        elif action == "moving up":
            cy = size - path
        else:
            cy = path
    elif action == "growing":
        radii = radius * (0.45 + 0.85 * t)
    elif action == "shrinking":
        radii = radius * (1.3 - 0.85 * t)
    elif action == "rotating":
        angles = angles + t * (math.pi / 2.2)
    elif action == "bouncing":
        amplitude = 0.3 * size
        cy0 = min(max(cy0, margin + amplitude), size - margin)
        cy = cy0 - amplitude * np.abs(np.sin(2 * math.pi * t))
        cx = np.full(num_frames, cx0)
    else:
        raise ValueError(f"Unknown action {action!r}; valid actions are {list(ACTIONS)}.")
    return cx, cy, radii, angles


def render_clip(attributes: dict, num_frames: int, image_size: int, rng: np.random.Generator) -> np.ndarray:
    """Render one clip as a uint8 array of shape (T, H, W, 3)."""
    size = image_size
    # Shapes span several 16-pixel patches at 64x64, so that a tiny ViT can tell them apart.
    base_radius = size * (0.19 if attributes["size"] == "small" else 0.26)
    cx, cy, radii, angles = _trajectory(attributes["action"], num_frames, size, base_radius, rng)
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    frames[:] = np.array(_BACKGROUND, dtype=np.uint8)
    second = None
    if attributes["second_shape"]:
        # The static companion sits in the corner farthest from the actor's mean position.
        sx = size * (0.2 if cx.mean() > size / 2 else 0.8)
        sy = size * (0.2 if cy.mean() > size / 2 else 0.8)
        second = _shape_mask(attributes["second_shape"], sx, sy, size * 0.13, 0.0, size)
    for i in range(num_frames):
        if second is not None:
            frames[i][second] = COLORS[attributes["second_color"]]
        mask = _shape_mask(attributes["shape"], cx[i], cy[i], radii[i], angles[i], size)
        frames[i][mask] = COLORS[attributes["color"]]
    return frames


# --------------------------------------------------------------------------------------------- captions


def _noun_phrase(attributes: dict, rng: np.random.Generator, with_size: bool) -> str:
    words = []
    if with_size:
        words.append(attributes["size"])
    words += [attributes["color"], attributes["shape"]]
    return " ".join(words)


def _generic_caption(attributes: dict, noun: str, rng: np.random.Generator) -> str:
    template = rng.integers(3)
    if template == 0:
        return f"a {noun}"
    if template == 1:
        return f"there is a {noun}"
    return f"the {noun}"


def make_captions(attributes: dict, num_captions: int, rng: np.random.Generator, action_caption_prob: float = 1.0) -> list[str]:
    """Reference captions for one clip: varied synonyms, word order and optional attributes; with
    ``action_caption_prob`` < 1 each caption names the action only with that probability (at least one does while
    the probability is positive)."""
    action = attributes["action"]
    captions: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(captions) < num_captions:
        attempts += 1
        with_size = rng.random() < 0.35
        noun = _noun_phrase(attributes, rng, with_size)
        verb = _ACTION_VERBS[action][rng.integers(len(_ACTION_VERBS[action]))]
        ing = _ACTION_INGS[action][rng.integers(len(_ACTION_INGS[action]))]
        template = rng.integers(5)
        # Only draw when generic captions are on, so that the default world keeps its random stream.
        generic = action_caption_prob < 1.0 and rng.random() >= action_caption_prob
        if generic and action_caption_prob > 0 and len(captions) == num_captions - 1 and not _names_action_somewhere(captions, action):
            generic = False  # the last caption names the action if none has yet
        if generic:
            caption = _generic_caption(attributes, noun, rng)
        elif template == 0:
            caption = f"a {noun} {verb}"
        elif template == 1:
            caption = f"the {noun} {verb}"
        elif template == 2:
            caption = f"there is a {noun} {ing}"
        elif template == 3:
            caption = f"a {noun} is {ing}"
        else:
            caption = f"a {attributes['shape']} that is {attributes['color']} {verb}"
        if attributes["second_shape"] and rng.random() < 0.5:
            other = f"{attributes['second_color']} {attributes['second_shape']}"
            caption += f" next to a {other}" if rng.random() < 0.5 else f" while a {other} stays still"
        # Duplicates are allowed once the distinct wordings run out, as in human-written references.
        # Generic captions repeat freely (there are few ways to say "a red circle"); rejecting their repeats would
        # make the action named more often than action_caption_prob.
        if caption not in seen or generic or attempts > 20 * num_captions:
            seen.add(caption)
            captions.append(caption)
    return captions


def _names_action_somewhere(captions: list[str], action: str) -> bool:
    return any(caption_names_attributes(c, {"color": "", "shape": "", "action": action})["action"] for c in captions)


def shapes_vocabulary() -> list[str]:
    """Every word a shapes-world caption can contain, sorted."""
    words = {"a", "the", "there", "is", "that", "next", "to", "while", "stays", "still"}
    words.update(COLORS)
    words.update(SHAPES)
    words.update(SIZES)
    for phrases in list(_ACTION_VERBS.values()) + list(_ACTION_INGS.values()) + [list(ACTIONS)]:
        for phrase in phrases:
            words.update(phrase.split())
    return sorted(words)


def _alternatives(phrases) -> str:
    return "(?:" + "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True)) + ")"


@functools.lru_cache(maxsize=1)
def _caption_grammar() -> re.Pattern:
    """The language of `make_captions`: every template, with any colour, shape, size and action wording."""
    color, shape = _alternatives(COLORS), _alternatives(SHAPES)
    noun = f"(?:{_alternatives(SIZES)} )?{color} {shape}"
    verb = _alternatives(p for phrases in _ACTION_VERBS.values() for p in phrases)
    ing = _alternatives(p for phrases in _ACTION_INGS.values() for p in phrases)
    body = "|".join(
        [
            f"a {noun}", f"there is a {noun}", f"the {noun}",  # generic
            f"a {noun} {verb}", f"the {noun} {verb}", f"there is a {noun} {ing}", f"a {noun} is {ing}",
            f"a {shape} that is {color} {verb}",
        ]
    )
    other = f"{color} {shape}"
    return re.compile(f"(?:{body})(?: next to a {other}| while a {other} stays still)?")


def is_shapes_caption_grammatical(caption: str) -> bool:
    """Whether the shapes world's own caption grammar (the templates of `make_captions`) generates ``caption``
    (lower-cased, whitespace-normalised). It sees word order, repetition and truncation, which bag-of-words
    rewards and CIDEr-D's n-grams only partly do: ``"a red circle moves left"`` is accepted, ``"a red circle moves
    left left"`` and ``"red a circle moves left"`` are not. Whether the caption is *true* of a clip is
    `caption_names_attributes`' job."""
    return _caption_grammar().fullmatch(" ".join(caption.lower().split())) is not None


def sample_attributes(rng: np.random.Generator, second_shape_prob: float) -> dict:
    action = ACTIONS[rng.integers(len(ACTIONS))]
    # A rotating circle looks static: only shapes without rotational symmetry may rotate.
    shapes = [s for s in SHAPES if not (action == "rotating" and s == "circle")]
    shape = shapes[rng.integers(len(shapes))]
    colors = list(COLORS)
    color = colors[rng.integers(len(colors))]
    attributes = {
        "action": action,
        "shape": shape,
        "color": color,
        "size": SIZES[rng.integers(len(SIZES))],
        "second_shape": "",
        "second_color": "",
    }
    if rng.random() < second_shape_prob:
        attributes["second_shape"] = SHAPES[rng.integers(len(SHAPES))]
        attributes["second_color"] = [c for c in colors if c != color][rng.integers(len(colors) - 1)]
    return attributes


def _near_duplicate(attributes: dict, rng: np.random.Generator) -> tuple[dict, str]:
    """A copy of ``attributes`` with one attribute changed (to a value the renderer can show), and its name."""
    twin = dict(attributes)
    changed = DUPLICATE_ATTRIBUTES[rng.integers(len(DUPLICATE_ATTRIBUTES))]
    if changed == "color":
        options = [c for c in COLORS if c not in (attributes["color"], attributes["second_color"])]
    elif changed == "shape":
        options = [s for s in SHAPES if s != attributes["shape"] and not (attributes["action"] == "rotating" and s == "circle")]
    elif changed == "size":
        options = [s for s in SIZES if s != attributes["size"]]
    else:
        options = [a for a in ACTIONS if a != attributes["action"] and not (attributes["shape"] == "circle" and a == "rotating")]
    twin[changed] = options[rng.integers(len(options))]
    return twin, changed


def split_base_novel(dataset, novel_actions=NOVEL_ACTIONS):
    """The zero-shot splits of a shapes `DatasetDict` (ReGen's protocol): ``train`` and ``validation`` restricted to
    the base actions (what class rewards may see), ``test_seen`` (base-class test clips) and ``test_unseen``
    (novel-class test clips, never rewarded). Labels keep their indices over all of ``ACTIONS``; the novel ones are
    ``[ACTIONS.index(a) for a in novel_actions]`` (the ``unseen_classes`` of the generalised metrics)."""
    import datasets

    unknown = [a for a in novel_actions if a not in ACTIONS]
    if unknown or not novel_actions or len(set(novel_actions)) == len(ACTIONS):
        raise ValueError(f"novel_actions must be a non-empty proper subset of {list(ACTIONS)}; got {list(novel_actions)}.")
    novel = {ACTIONS.index(a) for a in novel_actions}

    def base(split):
        return dataset[split].filter(lambda label: label not in novel, input_columns="label")

    return datasets.DatasetDict(
        {
            "train": base("train"),
            "validation": base("validation"),
            "test_seen": base("test"),
            "test_unseen": dataset["test"].filter(lambda label: label in novel, input_columns="label"),
        }
    )


# --------------------------------------------------------------------------------------------- writing


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 8) -> None:
    """Write uint8 frames (T, H, W, 3) as a lossless H.264 (4:4:4) mp4 with PyAV."""
    import av

    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be a uint8 array of shape (T, H, W, 3), got {frames.dtype} {frames.shape}.")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv444p"  # no chroma subsampling: small frames keep their colours sharp
        # Lossless (qp 0): lossy x264 output was seen to differ between runs even single-threaded (56 of 1,000
        # clips, by up to 12 levels); lossless output decodes to the same pixels every time.
        stream.options = {"qp": "0", "preset": "medium", "threads": "1"}
        stream.thread_count = 1
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def generate_shapes_dataset(output_dir: str | os.PathLike, config: ShapesWorldConfig | None = None, overwrite: bool = False) -> Path:
    """Render the shapes world into ``output_dir`` (``<split>/<video_id>.mp4`` + ``<split>/metadata.jsonl``).

    Generation is skipped when ``output_dir`` already holds a complete dataset written with the same config
    (compared through ``shapes_config.json``), so calling this twice is cheap. A complete world written with another
    config is never replaced silently: that is an error naming the differing settings, unless ``overwrite``. (A
    partial one, whose generation was interrupted before ``shapes_config.json`` was written, is completed.)

    Returns:
        The output directory as a `Path`.
    """
    config = config or ShapesWorldConfig()
    output_dir = Path(output_dir)
    config_path = output_dir / "shapes_config.json"
    if config_path.exists():
        stored = json.loads(config_path.read_text())
        if stored == asdict(config):
            return output_dir
        if not overwrite:
            differs = ", ".join(f"{k}: {stored.get(k)!r} there, {v!r} asked" for k, v in asdict(config).items() if stored.get(k) != v)
            raise ValueError(
                f"{output_dir} holds a shapes world generated with other settings ({differs}); generate into another "
                f"directory (e.g. --shapes_dir), delete {output_dir}, or pass overwrite=True to replace it."
            )
    output_dir.mkdir(parents=True, exist_ok=True)
    if config_path.exists():
        config_path.unlink()  # replaced on purpose: rewrite every split
    for split_index, (split, count) in enumerate(config.split_sizes().items()):
        split_dir = output_dir / split
        split_dir.mkdir(exist_ok=True)
        rows = []
        for index in range(count):
            rng = np.random.default_rng([config.seed, split_index, index])
            attributes = sample_attributes(rng, config.second_shape_prob)
            placement = rng.bit_generator.state  # a twin replays the same placement and motion
            frames = render_clip(attributes, config.num_frames, config.image_size, rng)
            video_id = f"{split}_{index:05d}"
            captions = make_captions(attributes, config.num_captions, rng, config.action_caption_prob)
            clips = [(video_id, attributes, frames, captions, "")]
            twin_rng = np.random.default_rng([config.seed, split_index, index, 1])
            if config.near_duplicate_prob > 0 and twin_rng.random() < config.near_duplicate_prob:
                twin, changed = _near_duplicate(attributes, twin_rng)
                replay = np.random.default_rng()
                replay.bit_generator.state = placement
                twin_frames = render_clip(twin, config.num_frames, config.image_size, replay)
                twin_captions = make_captions(twin, config.num_captions, twin_rng, config.action_caption_prob)
                clips.append((f"{video_id}_twin", twin, twin_frames, twin_captions, changed))
            for clip_id, clip_attributes, clip_frames, clip_captions, changed in clips:
                write_video(split_dir / f"{clip_id}.mp4", clip_frames)
                partner = "" if len(clips) == 1 else next(c[0] for c in clips if c[0] != clip_id)
                rows.append(
                    {
                        "file_name": f"{clip_id}.mp4",
                        "video_id": clip_id,
                        "captions": clip_captions,
                        "label": ACTIONS.index(clip_attributes["action"]),
                        **clip_attributes,
                        "names_action": sum(_names_action_somewhere([c], clip_attributes["action"]) for c in clip_captions),
                        "pair_id": partner,
                        "differs_in": changed if partner else "",
                    }
                )
        with open(split_dir / "metadata.jsonl", "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    # Written last: its presence marks a complete dataset.
    config_path.write_text(json.dumps(asdict(config), indent=2))
    return output_dir


def load_shapes_dataset(data_dir: str | os.PathLike):
    """Load a generated shapes dataset as a `datasets.DatasetDict` with train/validation/test splits.

    Columns: ``video`` (`datasets.Video` with ``decode=False``: ``{"path", "bytes"}``), ``video_id``,
    ``captions`` (list of reference strings), ``label`` (`ClassLabel` over ``ACTIONS``), the attributes
    ``action``, ``shape``, ``color``, ``size``, ``second_shape``, ``second_color`` (empty when absent),
    ``names_action`` (how many captions name the action), and for near-duplicates ``pair_id`` (the twin's
    ``video_id``) and ``differs_in`` (the changed attribute), empty otherwise.
    """
    import datasets

    data_dir = Path(data_dir).resolve()
    if not (data_dir / "shapes_config.json").exists():
        raise FileNotFoundError(
            f"{data_dir} holds no complete shapes dataset (shapes_config.json is missing); "
            "create it with hf_vidcap.data.generate_shapes_dataset(data_dir)."
        )
    features = datasets.Features(
        {
            "video": datasets.Video(decode=False),
            "video_id": datasets.Value("string"),
            "captions": datasets.Sequence(datasets.Value("string")),
            "label": datasets.ClassLabel(names=list(ACTIONS)),
            "action": datasets.Value("string"),
            "shape": datasets.Value("string"),
            "color": datasets.Value("string"),
            "size": datasets.Value("string"),
            "second_shape": datasets.Value("string"),
            "second_color": datasets.Value("string"),
            "names_action": datasets.Value("int32"),
            "pair_id": datasets.Value("string"),
            "differs_in": datasets.Value("string"),
        }
    )
    splits = {}
    for split in ("train", "validation", "test"):
        rows = [json.loads(line) for line in open(data_dir / split / "metadata.jsonl")]
        # names_action / pair_id / differs_in: absent from worlds written before they existed.
        defaults = {"names_action": None, "pair_id": "", "differs_in": ""}
        columns = {name: [row.get(name, defaults.get(name)) for row in rows] for name in features if name != "video"}
        columns["video"] = [{"path": str(data_dir / split / row["file_name"]), "bytes": None} for row in rows]
        splits[split] = datasets.Dataset.from_dict(columns, features=features)
    return datasets.DatasetDict(splits)


def build_shapes_tokenizer():
    """A word-level `PreTrainedTokenizerFast` over the shapes-world vocabulary.

    Special tokens: ``<pad>`` (0), ``<unk>``, ``<s>`` (bos), ``</s>`` (eos), and ``<image>``, the
    placeholder BLIP-2 replaces with query embeddings.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
    vocab = {token: i for i, token in enumerate(specials + shapes_vocabulary())}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Sequence([normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        extra_special_tokens={"image_token": "<image>"},
    )
    return tokenizer


def _action_phrases(action: str) -> list[str]:
    return sorted({action, *_ACTION_VERBS[action], *_ACTION_INGS[action]}, key=len, reverse=True)


def caption_names_attributes(caption: str, attributes: dict) -> dict[str, bool]:
    """Whether ``caption`` names the clip's true colour, shape and action.

    The action counts as named when one of its wordings occurs and no other action's wording does, so a hedged
    caption ("a red circle moves") names neither colour nor shape wrongly but does not name the action.
    """
    words = caption.lower().split()
    text = " " + " ".join(words) + " "
    found = {a for a in ACTIONS if any(f" {p} " in text for p in _action_phrases(a))}
    return {
        "color": attributes["color"] in words,
        "shape": attributes["shape"] in words,
        "action": found == {attributes["action"]},
    }


# --------------------------------------------------------------------------------------------- action classes


def shapes_action_classes() -> list[str]:
    """The shapes world's action-recognition classes: every (shape, action) pair as a natural phrase ("circle moving
    left", "square growing", ...; a rotating circle looks static and is left out): 31 classes that share words, so
    that sentence embeddings relate an unseen class to seen ones (CLASTER's zero-shot setting)."""
    return [f"{shape} {action}" for shape in SHAPES for action in ACTIONS if not (action == "rotating" and shape == "circle")]


def generate_shapes_action_dataset(
    output_dir: str | os.PathLike, clips_per_class: int = 30, num_frames: int = 8, image_size: int = 64, seed: int = 0,
    second_shape_prob: float = 0.3,
) -> Path:
    """Render ``clips_per_class`` clips of every class of `shapes_action_classes` into ``<output_dir>/<class>/
    <class>_<i>.mp4`` (the ``"folder"`` layout of `load_action_dataset`, whose ``zero_shot_draw`` then gives the
    seen/unseen splits). Colour, size and an optional static companion shape vary at random. Skipped when
    ``output_dir`` already holds the same dataset (``shapes_actions.json``)."""
    if clips_per_class < 1 or num_frames < 2:
        raise ValueError(f"clips_per_class ({clips_per_class}) must be >= 1 and num_frames ({num_frames}) >= 2.")
    output_dir = Path(output_dir)
    settings = {"version": SHAPES_WORLD_VERSION, "clips_per_class": clips_per_class, "num_frames": num_frames,
                "image_size": image_size, "seed": seed, "second_shape_prob": second_shape_prob}
    record = output_dir / "shapes_actions.json"
    if record.exists() and json.loads(record.read_text()) == settings:
        return output_dir
    colors = list(COLORS)
    for class_index, name in enumerate(shapes_action_classes()):
        shape, action = name.split(" ", 1)
        folder = output_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(clips_per_class):
            rng = np.random.default_rng([seed, class_index, i])
            color = colors[rng.integers(len(colors))]
            attributes = {"action": action, "shape": shape, "color": color, "size": SIZES[rng.integers(len(SIZES))], "second_shape": "", "second_color": ""}
            if rng.random() < second_shape_prob:
                attributes["second_shape"] = SHAPES[rng.integers(len(SHAPES))]
                attributes["second_color"] = [c for c in colors if c != color][rng.integers(len(colors) - 1)]
            write_video(folder / f"{name.replace(' ', '_')}_{i:03d}.mp4", render_clip(attributes, num_frames, image_size, rng))
    record.write_text(json.dumps(settings, indent=2) + "\n")
    return output_dir
