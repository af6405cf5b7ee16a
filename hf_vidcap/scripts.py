"""Arguments shared by the recipes (parsed with TRL's ``TrlParser`` next to ``VideoSCSTConfig`` and
``trl.ModelConfig``), kept in the library so that every recipe YAML can be parsed by a test."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VideoScriptArguments:
    r"""
    dataset_name (`str`, *optional*, defaults to `"shapes"`):
        ``"shapes"`` for the synthetic world (generated offline), a name of `CAPTION_DATASETS` (``"msrvtt"``,
        ``"msvd"``, ``"vatex"``, ``"tgif"``, ``"coco"``: read by `load_caption_dataset`), or a `datasets`
        repository / local directory whose rows have a video column (path or `Video(decode=False)`) and a
        list-of-captions column.
    dataset_config (`str`, *optional*): the dataset's configuration name (for `CAPTION_DATASETS`: another Hub
        repository, or a local copy, in the default repository's layout).
    dataset_train_split / dataset_eval_split / dataset_test_split (`str`): split names.
    video_dir (`str`, *optional*): directory that relative video paths are resolved against (for annotation-only
        Hub datasets such as MSR-VTT, whose videos users hold locally).
    data_dir (`str`, *optional*): for `CAPTION_DATASETS`, the official release instead of the Hub repository.
    download_videos (`bool`, *optional*): for msrvtt / msvd, also download the videos their Hub repositories carry.
    shapes_dir (`str`, *optional*, defaults to `"data/shapes"`): where the shapes world is generated.
    shapes_num_train / shapes_num_validation / shapes_num_test (`int`): shapes-world split sizes.
    shapes_seed (`int`, *optional*, defaults to `0`): shapes-world seed.
    prompt (`str`, *optional*): text every caption continues; unset keeps the checkpoint processor's prompt.
    frame_differences (`str`, *optional*): motion input of the processor: ``"none"``, ``"append"`` (frames then
        their differences) or ``"replace"`` (see `VideoCaptionProcessor`); unset keeps the checkpoint's.
    model_config_overrides (`dict`, *optional*): fields of the model's config to change on loading (e.g.
        ``{use_temporal_embedding: true}`` for a BLIP-2 image checkpoint); a field the config lacks is an error.
    max_eval_samples (`int`, *optional*): evaluate on at most this many samples.
    reward_funcs (`list[str]`, *optional*, defaults to `["cider_d"]`): registered reward names or dotted paths
        (`hf_vidcap.rewards.build_rewards`); weighted by ``reward_weights`` of `VideoSCSTConfig`.
    reward_kwargs (`dict`, *optional*): each reward's arguments, keyed by its entry in ``reward_funcs``.
    """

    dataset_name: str = field(default="shapes", metadata={"help": "'shapes' or a datasets repo / local directory."})
    dataset_config: str | None = field(default=None, metadata={"help": "Dataset configuration name."})
    dataset_train_split: str = field(default="train", metadata={"help": "Training split."})
    dataset_eval_split: str = field(default="validation", metadata={"help": "Evaluation split used during training."})
    dataset_test_split: str = field(default="test", metadata={"help": "Split of the final evaluation."})
    video_dir: str | None = field(default=None, metadata={"help": "Directory relative video paths are resolved against."})
    data_dir: str | None = field(default=None, metadata={"help": "msrvtt/msvd/vatex/tgif/coco: the official release instead of the Hub repository."})
    download_videos: bool = field(default=False, metadata={"help": "msrvtt/msvd: also download the videos the Hub repository carries."})
    shapes_dir: str = field(default="data/shapes", metadata={"help": "Where the shapes world is generated."})
    shapes_num_train: int = field(default=800, metadata={"help": "Shapes world: training clips."})
    shapes_num_validation: int = field(default=100, metadata={"help": "Shapes world: validation clips."})
    shapes_num_test: int = field(default=100, metadata={"help": "Shapes world: test clips."})
    shapes_seed: int = field(default=0, metadata={"help": "Shapes world: seed."})
    prompt: str | None = field(default=None, metadata={"help": "Prompt every caption continues (unset: the checkpoint's)."})
    frame_differences: str | None = field(default=None, metadata={"help": "Motion input: 'none', 'append' or 'replace' (unset: the checkpoint's)."})
    model_config_overrides: dict | None = field(
        default=None, metadata={"help": "Model config fields to change on loading (a YAML mapping)."}
    )
    max_eval_samples: int | None = field(default=None, metadata={"help": "Evaluate on at most this many samples."})
    reward_funcs: list[str] = field(
        default_factory=lambda: ["cider_d"],
        metadata={"help": "Rewards: registered names (hf_vidcap.rewards.REWARDS) or dotted paths to your callables."},
    )
    reward_kwargs: dict | None = field(
        default=None, metadata={"help": "Arguments of each reward, by its name in reward_funcs (a YAML mapping)."}
    )

    def __post_init__(self):
        if self.frame_differences not in (None, "none", "append", "replace"):
            raise ValueError(
                f"frame_differences ({self.frame_differences!r}) must be one of ['none', 'append', 'replace']."
            )

    def processor_overrides(self) -> dict:
        """The processor settings this run sets (the others keep the checkpoint's)."""
        settings = {"prompt": self.prompt, "frame_differences": self.frame_differences}
        return {key: value for key, value in settings.items() if value is not None}


def load_captioner_for_training(script_args, training_args, model_args):
    """The processor, model and PEFT config a recipe trains: any captioner checkpoint through the Auto classes,
    with the processor overrides of ``script_args``, as many frame slots as the run feeds it, the model config
    overrides, and LoRA on the architecture's default targets when ``use_peft`` names none."""
    from transformers import AutoConfig, set_seed
    from trl import get_peft_config

    from .models import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor
    from .models.lora import LORA_TARGET_MODULES, lora_architecture
    from .models.vlm import VLM_FAMILIES

    overrides = script_args.processor_overrides()
    config = AutoConfig.from_pretrained(model_args.model_name_or_path, revision=model_args.model_revision)
    if config.model_type in VLM_FAMILIES:  # a video VLM's prompt holds the video's tokens: it is set up for the frames
        overrides["num_frames"] = training_args.num_frames
    processor = AutoVideoCaptionProcessor.from_pretrained(model_args.model_name_or_path, revision=model_args.model_revision, **overrides)
    set_seed(training_args.seed)  # weights a checkpoint lacks (e.g. a new temporal embedding) start seeded
    model = AutoModelForVideoCaptioning.from_pretrained(
        model_args.model_name_or_path,
        revision=model_args.model_revision,
        dtype=model_args.dtype or "auto",
        num_frames=processor.num_model_frames(training_args.num_frames),
        config_overrides=script_args.model_config_overrides,
        **({"attn_implementation": model_args.attn_implementation} if model_args.attn_implementation else {}),
    )
    peft_config = get_peft_config(model_args)
    if peft_config is not None and not model_args.lora_target_modules:
        peft_config.target_modules = LORA_TARGET_MODULES[lora_architecture(model)]
    return processor, model, peft_config
