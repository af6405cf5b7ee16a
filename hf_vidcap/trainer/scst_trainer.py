"""VideoSCSTTrainer: self-critical sequence training of video captioners, TRL-style.

Shapes: B videos per device batch, K = num_generations sampled captions per video, L caption tokens.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import numbers
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from transformers import Trainer, TrainerCallback
from trl.models.utils import unwrap_model_for_generation

from ..captioning import (
    caption_token_logprobs,
    generate_captions,
    make_generation_config,
    unwrap_captioner,
    unwrap_distributed,
)
from ..data.collator import VideoCaptionCollator, is_empty_batch
from ..evaluation import evaluate_captioner
from .baselines import compute_baselines, diversity_advantages, get_baseline, scale_advantages
from .checkpoints import load_checkpoint_file, read_json, resolve_resume_checkpoint
from .losses import policy_loss
from .rollouts import get_rollout
from .scst_config import VideoSCSTConfig

RewardFunc = Callable[..., list]
logger = logging.getLogger(__name__)


class _EvaluateAtXEEndCallback(TrainerCallback):
    """Evaluates when the XE warm-up ends, so that the XE captioner's scores are logged before SCST starts."""

    def on_step_end(self, args, state, control, **kwargs):
        if 0 < args.xe_warmup_steps == state.global_step and args.eval_strategy != "no" and state.global_step < state.max_steps:
            control.should_evaluate = True
        return control


def _xe_scaled_lambda(factor, ratio: float, switch: int):
    """A learning-rate factor scaled by ``ratio`` before step ``switch``. A plain function on purpose: LambdaLR
    saves the attributes of callable objects into checkpoints (here a functools.partial, which torch.load's
    weights-only mode then refuses) but not functions, which the resumed trainer rebuilds identically."""

    def scaled(step: int) -> float:
        return factor(step) * (ratio if step < switch else 1.0)

    return scaled


# Rewards, baselines and their squares (the std of scale_rewards) are float32: keep far from its 3.4e38 limit.
MAX_ABS_REWARD = 1e12


def _ignore(*args, **kwargs) -> None:
    """The log hooks given to rewards scoring anything but the rollouts."""


def _reward_values_as_list(name: str, values) -> list:
    """A reward's output as a list of per-completion values, or a TypeError naming the reward."""
    if isinstance(values, (list, tuple)):
        return list(values)
    if isinstance(values, (np.ndarray, torch.Tensor)) and values.ndim == 1:
        return values.tolist()
    raise TypeError(
        f"reward function {name!r} returned {type(values).__name__} {values!r:.80}; it must return a list with one "
        "float (or None) per completion."
    )


def _reward_name(func) -> str:
    return getattr(func, "__name__", None) or type(func).__name__


def _peft_wrapper(model):
    """The PEFT model behind accelerate/DDP wrappers, or None."""
    model = unwrap_distributed(model)
    return model if hasattr(model, "disable_adapter") and hasattr(model, "get_base_model") else None


def _is_peft_model(model) -> bool:
    return _peft_wrapper(model) is not None


def _interleave_groups(groups, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge caption sets grouped by video, ``[(ids (B*n, L), mask (B*n, L), n), ...]``, into one (B*sum n, L_max)
    batch in which each video's rows of every set are contiguous (set order kept)."""
    length = max(ids.shape[1] for ids, _, _ in groups)
    ids_parts, mask_parts = [], []
    for ids, mask, n in groups:
        pad = length - ids.shape[1]
        ids = torch.nn.functional.pad(ids, (0, pad), value=0)
        mask = torch.nn.functional.pad(mask, (0, pad), value=0)
        ids_parts.append(ids.view(batch_size, n, length))
        mask_parts.append(mask.view(batch_size, n, length))
    return torch.cat(ids_parts, dim=1).flatten(0, 1), torch.cat(mask_parts, dim=1).flatten(0, 1)


class _StepTimer(TrainerCallback):
    """Closes each optimizer step's phase timings: the optimizer step itself and the whole step's wall time."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.step_start = None
        self.optimizer_start = None

    def on_step_begin(self, args, state, control, **kwargs):
        if self.step_start is None:
            self.step_start = time.perf_counter()

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        self.optimizer_start = time.perf_counter()

    def on_optimizer_step(self, args, state, control, **kwargs):
        if self.optimizer_start is not None:
            self.trainer._phase_times["optimizer"] += time.perf_counter() - self.optimizer_start

    def on_step_end(self, args, state, control, **kwargs):
        timings = dict(self.trainer._phase_times)
        if self.step_start is not None:
            timings["step"] = time.perf_counter() - self.step_start
        self.trainer.step_timings.append(timings)
        self.trainer._phase_times.clear()
        self.step_start = None


class _VisualPath(torch.nn.Module):
    """Everything of a captioner but its language model, as one module (for fingerprinting frozen weights)."""

    def __init__(self, captioner):
        super().__init__()
        if hasattr(captioner, "visual_modules"):  # models whose language model is not one child (GIT, OFA)
            for name, child in captioner.visual_modules().items():
                self.add_module(name, child)
            return
        for name, child in captioner.named_children():
            if name != "language_model":
                self.add_module(name, child)
        for name, parameter in captioner.named_parameters(recurse=False):
            self.register_parameter(name, parameter)


class VideoSCSTTrainer(Trainer):
    """Trainer for self-critical sequence training (and reward-driven tuning) of a video captioner.

    Each step, for every video of the batch: run the vision tower once (or read its cached output); decode the
    greedy caption (when the baseline or a reward needs it) and K captions, sampled or beam-searched, from that
    one encoding (under no_grad); score them with the reward functions; and minimise

        ``- mean_i A_i * log p(w_i)  [+ xe_weight * L_XE] [- teacher_forcing_weight * mean_gt r(gt) log p(gt)]
        [+ beta * KL(policy || initial policy)] [- entropy_coef * H]``

    with ``A_i = r(w_i) - b_i`` (``args.baseline``, optionally scaled by ``args.scale_rewards``), the
    log-probabilities coming from one teacher-forced forward pass with gradients over the K captions (and the
    reference captions, when a term needs them) of each video, never from ``generate``. During the first
    ``args.xe_warmup_steps`` steps the loss is teacher-forced cross-entropy on the references instead.

    Args:
        model (`PreTrainedModel` or `str`):
            A video captioner ([`VideoBlip2ForConditionalGeneration`] or any model with ``get_video_embeds``,
            ``generate(video_embeds=...)`` and ``forward(video_embeds=... | pixel_values=..., captions_per_video=...)``),
            or a path/Hub id loaded with ``AutoModelForImageTextToText``.
        reward_funcs (`callable` or `list[callable]`):
            TRL-style rewards: ``f(prompts, completions, completion_ids, group_ids, **columns, trainer_state)``
            returning one float (or `None` = not applicable) per completion. The columns include ``video_frames``
            (decoded uint8 frames) and, for the K captions, ``greedy_completions`` (see `hf_vidcap.rewards`).
            Rewards with ``online_update`` are updated once per step.
        args ([`VideoSCSTConfig`]): the configuration.
        train_dataset, eval_dataset (`datasets.Dataset`): rows with a video column and a references column.
        processing_class ([`VideoBlip2Processor`]): frames and text to model inputs; saved with checkpoints.
        data_collator (*optional*): defaults to a [`VideoCaptionCollator`] built from ``args``.
        peft_config (`peft.PeftConfig`, *optional*): wrap the model with PEFT (e.g. LoRA) before training; the KL
            reference is then the model with its adapters disabled.
    """

    _tag_names = ["trl", "scst", "hf_vidcap", "video-captioning"]
    # compute_loss returns a per-batch mean; the Trainer divides it by the gradient-accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(
        self,
        model,
        reward_funcs: RewardFunc | Sequence[RewardFunc],
        args: VideoSCSTConfig | None = None,
        train_dataset=None,
        eval_dataset=None,
        processing_class=None,
        data_collator=None,
        callbacks=None,
        optimizers=(None, None),
        peft_config=None,
    ):
        args = args or VideoSCSTConfig(output_dir="scst_output")
        if not isinstance(args, VideoSCSTConfig):
            raise TypeError(f"args must be a VideoSCSTConfig, got {type(args).__name__}.")
        if processing_class is None:
            raise ValueError("processing_class is required: pass the model's VideoBlip2Processor.")
        if isinstance(model, str):
            from transformers import AutoModelForImageTextToText

            model = AutoModelForImageTextToText.from_pretrained(model)
        # Without PEFT, the KL reference is a frozen copy of the initial policy (with PEFT: adapters disabled).
        self.ref_model = None
        if args.beta > 0 and peft_config is None and not _is_peft_model(model):
            self.ref_model = copy.deepcopy(model).eval().requires_grad_(False)
        if peft_config is not None:
            import dataclasses

            from peft import get_peft_model

            # PEFT's task-specific wrappers (CAUSAL_LM, SEQ_2_SEQ_LM) assume a text-only forward; a video captioner
            # needs the generic wrapper, whose LoRA layers are the same.
            if getattr(peft_config, "task_type", None) is not None:
                peft_config = dataclasses.replace(peft_config, task_type=None)
            model = get_peft_model(model, peft_config)
        if args.gradient_checkpointing and _is_peft_model(model):
            # Checkpointed blocks whose inputs need no grad would drop the adapters' gradients.
            unwrap_captioner(model).enable_input_require_grads()
        if args.disable_dropout:
            for module in model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = 0.0

        reward_funcs = [reward_funcs] if callable(reward_funcs) else list(reward_funcs)
        if not reward_funcs:
            raise ValueError("reward_funcs is empty; pass at least one reward function.")
        for func in reward_funcs:
            if not callable(func):
                raise TypeError(f"reward function {func!r} is not callable.")
        if args.reward_weights is None:
            weights = [1.0] * len(reward_funcs)
        elif len(args.reward_weights) != len(reward_funcs):
            raise ValueError(
                f"reward_weights has {len(args.reward_weights)} values but there are {len(reward_funcs)} reward "
                "functions; give one weight per function."
            )
        else:
            weights = list(args.reward_weights)
        self.reward_funcs = reward_funcs
        self.reward_weights = torch.tensor(weights, dtype=torch.float32)
        self.reward_names = [_reward_name(f) for f in reward_funcs]
        if len(set(self.reward_names)) != len(self.reward_names):
            raise ValueError(f"reward function names {self.reward_names} repeat; give each a distinct __name__ (they name the logged metrics).")

        collator_settings = dict(
            num_frames=args.num_frames,
            video_column=args.video_column,
            references_column=args.references_column,
            id_column=args.id_column,
            skip_corrupt=args.skip_corrupt_videos,
            short_video=args.short_video,
            decoder=args.video_decoder,
        )
        # Evaluation always samples uniformly (deterministic scores), whatever the training sampling.
        self.eval_data_collator = data_collator or VideoCaptionCollator(processing_class, **collator_settings)
        if data_collator is None:
            data_collator = VideoCaptionCollator(
                processing_class, sampling=args.frame_sampling, seed=args.seed, **collator_settings
            )
        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            callbacks=[*(callbacks or []), _EvaluateAtXEEndCallback(), _StepTimer(self)],
            optimizers=optimizers,
        )
        # Training-step metrics, averaged into the next training log (the one carrying "loss").
        self._step_metrics: defaultdict[str, list[float]] = defaultdict(list)
        self._pending_extra: dict[str, list] = {}  # log_extra columns of the current step's completions
        self._sampling_state: dict | None = None  # the frame sampler's state after the last batch trained on
        # Wall time of each step's phases in seconds (encode, generate, reward, forward, backward, optimizer,
        # step), one dict per optimizer step; read by benchmarks/scst_step.py.
        self.step_timings: list[dict[str, float]] = []
        self._phase_times: defaultdict[str, float] = defaultdict(float)
        self.completions_log: list[dict] = []
        self._feature_cache: dict = {}
        self._disk_caches: dict = {}
        self._batch_video_keys: list | None = None
        self.feature_cache_stats = {"hits": 0, "misses": 0, "disk_hits": 0}
        self.rollout = get_rollout(args.rollout)
        self.rollout_config = self.rollout.generation_config(processing_class, args)
        self.greedy_config = make_generation_config(processing_class, args.max_completion_length)
        self.baseline = get_baseline(args.baseline)
        self._needs_greedy = self.baseline.needs_greedy or any(
            getattr(func, "uses_greedy_completions", False) for func in reward_funcs
        )
        if args.exploration_alpha is not None:
            from ..rewards import get_diversity_reward

            self._diversity_reward = get_diversity_reward()
        self._check_feature_cache()

    # ------------------------------------------------------------------------------------------- helpers

    @contextmanager
    def _timed(self, phase: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self._phase_times[phase] += time.perf_counter() - start

    def _visual_trainability(self) -> tuple[bool, bool]:
        """(vision tower frozen, whole visual path frozen) of the captioner."""
        captioner = unwrap_captioner(self.model)
        vision = getattr(captioner, "vision_model", None)
        vision_frozen = vision is not None and not any(p.requires_grad for p in vision.parameters())
        if hasattr(captioner, "visual_modules"):
            visual = [p for module in captioner.visual_modules().values() for p in module.parameters()]
        else:
            visual = [p for name, p in captioner.named_parameters() if not name.startswith("language_model.")]
        visual_frozen = not any(p.requires_grad for p in visual)
        return vision_frozen, visual_frozen

    def _check_feature_cache(self) -> None:
        if not self.args.cache_video_features:
            return
        sampling = getattr(self.data_collator, "sampling", "uniform")
        if sampling != "uniform":
            raise ValueError(
                f"cache_video_features reuses each video's features, but the collator samples frames with {sampling!r} "
                "(new frames every epoch); use sampling='uniform' or turn the cache off."
            )
        vision_frozen, visual_frozen = self._visual_trainability()
        if not (vision_frozen or visual_frozen):
            raise ValueError(
                "cache_video_features needs a frozen vision tower (its outputs are reused across epochs); freeze "
                "model.vision_model (requires_grad_(False)), use LoRA on the language model, or turn the cache off."
            )
        if not visual_frozen and not hasattr(unwrap_captioner(self.model), "get_frame_features"):
            raise ValueError(
                "cache_video_features with a trainable Q-Former needs a model with get_frame_features; freeze the "
                "whole visual path or turn the cache off."
            )

    def _is_zero3(self) -> bool:
        plugin = getattr(self.accelerator.state, "deepspeed_plugin", None)
        return plugin is not None and plugin.zero_stage == 3

    # ------------------------------------------------------------------------------------------- rewards

    def _log_metric(self, name: str, value: float) -> None:
        """TRL's ``log_metric`` for rewards: averaged over the step (and the processes) into the next log."""
        self._step_metrics[name].append(float(value))

    def _log_extra(self, column: str, values: list) -> None:
        """TRL's ``log_extra`` for rewards: one value per rollout completion, a column of the completions table."""
        self._pending_extra[column] = list(values)

    def _call_reward(self, j: int, completions: list[str], completion_ids, repeated: dict, group_ids: list, log: bool = True) -> list:
        func, name = self.reward_funcs[j], self.reward_names[j]
        # Only the rollouts' scoring logs: the greedy captions' and the references' would mix into the same metrics.
        kwargs = dict(
            prompts=[self.processing_class.prompt] * len(completions),
            completions=completions,
            completion_ids=completion_ids,
            group_ids=group_ids,
            trainer_state=self.state,
            log_metric=self._log_metric if log else _ignore,
            log_extra=self._log_extra if log else _ignore,
            **repeated,
        )
        try:
            return func(**kwargs)
        except Exception as error:
            sample = self._find_failing_sample(func, kwargs)
            where = f" on sample {sample[0]!r} (completion {sample[1]!r})" if sample else f" on a batch of {len(completions)} completions"
            raise RuntimeError(f"reward function {name!r} raised {type(error).__name__}: {error}{where}.") from error

    def _find_failing_sample(self, func, kwargs: dict):
        """Call ``func`` one completion at a time to name the sample that makes it raise (None if none alone does)."""
        num = len(kwargs["completions"])
        for i in range(num):
            single = {
                key: ([value[i]] if isinstance(value, list) and len(value) == num else value) for key, value in kwargs.items()
            }
            try:
                func(**single)
            except Exception:
                sample = kwargs.get(self.args.id_column, kwargs["group_ids"])[i]
                return sample, kwargs["completions"][i]
        return None

    def _compute_rewards(
        self, completions: list[str], completion_ids: list[list[int]], columns: dict, repeats: int, extra: dict | None = None,
        log: bool = False,
    ):
        """Weighted sum of the reward functions for N = B * repeats completions grouped by video.

        Returns ``(total (N,), per_func (N, F), valid (N,))``; a caption is invalid when a reward was NaN/inf
        (with ``nonfinite_rewards="skip"``; by default that raises)."""
        num = len(completions)
        repeated = {key: [v for v in values for _ in range(repeats)] for key, values in columns.items()}
        repeated.update(extra or {})
        group_ids = [b for b in range(num // repeats) for _ in range(repeats)]
        per_func = torch.full((num, len(self.reward_funcs)), float("nan"))
        valid = torch.ones(num, dtype=torch.bool)
        for j in range(len(self.reward_funcs)):
            values = self._call_reward(j, completions, completion_ids, repeated, group_ids, log=log)
            values = _reward_values_as_list(self.reward_names[j], values)
            if len(values) != num:
                raise ValueError(
                    f"reward function {self.reward_names[j]!r} returned {len(values)} values for {num} completions; "
                    "it must return one value (or None) per completion."
                )
            for i, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
                    sample = repeated.get(self.args.id_column, group_ids)[i]
                    raise TypeError(
                        f"reward function {self.reward_names[j]!r} returned {value!r} ({type(value).__name__}) for "
                        f"completion {completions[i]!r} of sample {sample!r}; a reward is a float, or None when it does "
                        "not apply."
                    )
                if math.isfinite(value) and abs(value) > MAX_ABS_REWARD:
                    sample = repeated.get(self.args.id_column, group_ids)[i]
                    raise ValueError(
                        f"reward function {self.reward_names[j]!r} returned {value} for completion {completions[i]!r} of "
                        f"sample {sample!r}; rewards are combined in float32 and must stay within +-{MAX_ABS_REWARD:g}: "
                        "rescale the reward (or its weight)."
                    )
                if not math.isfinite(value):
                    if self.args.nonfinite_rewards == "skip":
                        valid[i] = False
                        continue
                    sample = repeated.get(self.args.id_column, group_ids)[i]
                    raise ValueError(
                        f"reward function {self.reward_names[j]!r} returned {value} for completion {completions[i]!r} "
                        f"of sample {sample!r}; rewards must be finite (return None when a reward does not apply, or "
                        "set nonfinite_rewards='skip' to drop such captions)."
                    )
                per_func[i, j] = float(value)
        applicable = ~per_func.isnan()
        if not (applicable.any(dim=1) | ~valid).all():
            i = int((~applicable.any(dim=1) & valid).nonzero()[0])
            raise ValueError(
                f"every reward function returned None for completion {completions[i]!r}; at least one reward must "
                "apply to each completion."
            )
        total = (per_func.nan_to_num(0.0) * self.reward_weights).sum(dim=1)
        return total, per_func, valid

    def _update_online_rewards(self, columns: dict, generated: list[str]) -> None:
        """One update of every reward with ``online_update`` (WTF-RL's discriminator): the batch's references
        against its sampled captions, before they are scored."""
        human = [ref for refs in columns[self.args.references_column] for ref in refs]
        for name, func in zip(self.reward_names, self.reward_funcs):
            if getattr(func, "online_update", False):
                for key, value in func.update(human=human, generated=generated).items():
                    self._step_metrics[f"rewards/{name}/{key}"].append(float(value))

    # ------------------------------------------------------------------------------------------- visual inputs

    def _disk_cache(self, kind: str):
        """The on-disk cache of ``kind`` ("video_embeds" or "frame_features"), keyed by the frozen weights that
        produce it and the frame settings."""
        if kind not in self._disk_caches:
            from ..data.feature_cache import VisionFeatureCache, model_fingerprint

            captioner = unwrap_captioner(self.model)
            frozen = captioner.vision_model if kind == "frame_features" else _VisualPath(captioner)
            processor = self.processing_class
            settings = {
                "kind": kind,
                "num_frames": self.args.num_frames,
                "sampling": getattr(self.data_collator, "sampling", "uniform"),
                "frame_size": getattr(self.data_collator, "frame_size", None),
                "short_video": getattr(self.data_collator, "short_video", "error"),
                "processor": {k: v for k, v in processor.to_dict().items() if k != "prompt"} if hasattr(processor, "to_dict") else None,
            }
            self._disk_caches[kind] = VisionFeatureCache(self.args.feature_cache_dir, model_fingerprint(frozen), settings)
        return self._disk_caches[kind]

    def _cached(self, keys: list, compute, kind: str) -> torch.Tensor:
        """Per-video features from the memory cache, then the disk cache (``feature_cache_dir``), computing (under
        no_grad) only the videos found in neither."""
        missing = [i for i, key in enumerate(keys) if key not in self._feature_cache]
        self.feature_cache_stats["hits"] += len(keys) - len(missing)
        self.feature_cache_stats["misses"] += len(missing)
        if missing and self.args.feature_cache_dir is not None:
            if self._batch_video_keys is None or len(self._batch_video_keys) != len(keys):
                raise ValueError("feature_cache_dir needs the batch's video_keys (from VideoCaptionCollator).")
            disk = self._disk_cache(kind)
            before = disk.stats["hits"]
            with torch.no_grad():
                computed = disk.get_or_compute(
                    [self._batch_video_keys[i] for i in missing], lambda rows: compute([missing[r] for r in rows])
                )
            self.feature_cache_stats["disk_hits"] += disk.stats["hits"] - before
            for row, i in enumerate(missing):
                self._feature_cache[keys[i]] = computed[row]
            missing = []
        if missing:
            with torch.no_grad():
                computed = compute(missing)
            for row, i in enumerate(missing):
                self._feature_cache[keys[i]] = computed[row].detach().cpu()
        device = self.args.device
        return torch.stack([self._feature_cache[key] for key in keys]).to(device)

    def _visual_inputs(self, model, pixel_values: torch.Tensor, columns: dict):
        """Run the vision tower once for the batch. Returns (detached embeddings for generation, kwargs for the
        loss forward)."""
        captioner = unwrap_captioner(model)
        vision_frozen, visual_frozen = self._visual_trainability()
        keys = None
        if self.args.cache_video_features:
            keys = columns.get(self.args.id_column)
            if keys is None:
                raise ValueError(
                    f"cache_video_features needs a {self.args.id_column!r} column naming each video; add one or set id_column."
                )
        if visual_frozen:
            # The loss forward reuses the generation-time encoding as is.
            if keys is not None:
                video_embeds = self._cached(keys, lambda rows: captioner.get_video_embeds(pixel_values[rows]), "video_embeds")
            else:
                with torch.no_grad():
                    video_embeds = captioner.get_video_embeds(pixel_values)
            return video_embeds, {"video_embeds": video_embeds}
        if vision_frozen and hasattr(captioner, "get_frame_features"):
            # Frozen vision tower, trainable Q-Former: the tower runs once; the Q-Former runs again with grad in
            # the loss forward (through the wrapped model, so DDP sees it).
            if keys is not None:
                frame_features = self._cached(
                    keys, lambda rows: captioner.get_frame_features(pixel_values[rows]), "frame_features"
                )
            else:
                with torch.no_grad():
                    frame_features = captioner.get_frame_features(pixel_values)
            with torch.no_grad():
                video_embeds = captioner.get_video_embeds(frame_features=frame_features)
            return video_embeds, {"frame_features": frame_features}
        if self._is_zero3():
            # ZeRO-3 partitions the parameters: encode inside the engine's forward (the video is encoded again).
            with torch.no_grad():
                video_embeds = captioner.get_video_embeds(pixel_values)
            return video_embeds, {"pixel_values": pixel_values}
        # Trainable vision tower: encode once with gradients, generate from a detached copy, and let the loss
        # forward take the graph-carrying embeddings (backward then reaches the vision tower).
        video_embeds = captioner.get_video_embeds(pixel_values)
        return video_embeds.detach(), {"video_embeds": video_embeds}

    # ------------------------------------------------------------------------------------------- losses

    def _choose_references(self, columns: dict) -> list[str]:
        """``xe_captions_per_video`` references per video, without replacement while there are enough."""
        k = self.args.xe_captions_per_video
        chosen = []
        for refs in columns[self.args.references_column]:
            order = torch.randperm(len(refs)).tolist()
            chosen += [refs[order[i % len(refs)]] for i in range(k)]
        return chosen

    def _xe_loss(self, model, pixel_values: torch.Tensor, columns: dict) -> torch.Tensor:
        k = self.args.xe_captions_per_video
        caption_ids, caption_mask = self.processing_class.pad_captions(
            self.processing_class.caption_ids(self._choose_references(columns), self.args.max_completion_length)
        )
        device = pixel_values.device
        caption_ids, caption_mask = caption_ids.to(device), caption_mask.to(device)
        with self._timed("forward"):
            token_logprobs = caption_token_logprobs(
                model, self.processing_class, caption_ids, caption_mask, pixel_values=pixel_values, captions_per_video=k
            )
        loss = -token_logprobs.sum() / caption_mask.sum()
        self._step_metrics["xe_loss"].append(loss.item())
        return loss

    def _sequence_logprobs(self, token_logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        total = token_logprobs.sum(dim=1)
        return total / mask.sum(dim=1).clamp(min=1) if self.args.length_normalization else total

    def _reference_token_logprobs(self, model, ids, mask, k, pixel_values, loss_visual) -> torch.Tensor:
        """Token log-probabilities of the captions under the initial policy (no grad)."""
        (key, value), = loss_visual.items()
        # Features of a frozen visual path are the initial policy's too; a trainable one may have moved, so the
        # reference encodes the video itself.
        visual = {key: value.detach()} if key != "pixel_values" and not value.requires_grad else {"pixel_values": pixel_values}
        with torch.no_grad():
            if self.ref_model is not None:
                if next(self.ref_model.parameters()).device != ids.device:
                    self.ref_model.to(ids.device)
                return caption_token_logprobs(
                    self.ref_model, self.processing_class, ids, mask, captions_per_video=k, temperature=self.args.temperature, **visual
                )
            peft_model = _peft_wrapper(model)
            with peft_model.disable_adapter():
                return caption_token_logprobs(
                    peft_model, self.processing_class, ids, mask, captions_per_video=k, temperature=self.args.temperature, **visual
                )

    def _encode_and_generate(self, model, pixel_values: torch.Tensor, columns: dict):
        """Encode the batch once and decode the greedy captions (when needed) and the K rollouts from it.

        Returns ``(loss_visual, greedy_ids, sample_ids, sample_mask)``."""
        processor = self.processing_class
        zero3 = self._is_zero3()
        if not zero3:
            with self._timed("encode"):
                video_embeds, loss_visual = self._visual_inputs(model, pixel_values, columns)
        # Unwraps DDP; under ZeRO-3 gathers the partitioned parameters (TRL's helper), so the encoding, which
        # reads top-level parameters outside the engine's forward, happens inside it.
        with unwrap_model_for_generation(model, self.accelerator) as unwrapped:
            if zero3:
                with self._timed("encode"):
                    video_embeds, loss_visual = self._visual_inputs(model, pixel_values, columns)
            captioner = unwrap_captioner(unwrapped)
            with self._timed("generate"):
                greedy_ids = None
                if self._needs_greedy:
                    greedy_ids, _ = generate_captions(captioner, processor, video_embeds, self.greedy_config)
                sample_ids, sample_mask = self.rollout.generate(captioner, processor, video_embeds, self.rollout_config)
        return loss_visual, greedy_ids, sample_ids, sample_mask

    def _rl_loss(self, model, pixel_values: torch.Tensor, columns: dict) -> torch.Tensor:
        args, processor = self.args, self.processing_class
        k = args.num_generations
        batch_size = pixel_values.shape[0]
        device = pixel_values.device
        loss_visual, greedy_ids, sample_ids, sample_mask = self._encode_and_generate(model, pixel_values, columns)

        with self._timed("reward"):
            sample_texts = processor.decode_captions(sample_ids)
            sample_id_lists = [row[mask.bool()].tolist() for row, mask in zip(sample_ids, sample_mask)]
            self._update_online_rewards(columns, sample_texts)
            extra = {}
            greedy_rewards = None
            if greedy_ids is not None:
                greedy_texts = processor.decode_captions(greedy_ids)
                extra["greedy_completions"] = [text for text in greedy_texts for _ in range(k)]
            self._pending_extra = {}
            rewards, per_func, valid = self._compute_rewards(sample_texts, sample_id_lists, columns, repeats=k, extra=extra, log=True)
            if self.baseline.needs_greedy:
                greedy_rewards, _, greedy_valid = self._compute_rewards(
                    greedy_texts, [row.tolist() for row in greedy_ids], columns, repeats=1
                )
                greedy_rewards = torch.where(greedy_valid, greedy_rewards, float("nan"))
            rewards, valid = rewards.view(batch_size, k), valid.view(batch_size, k)
            baselines, valid = compute_baselines(rewards, self.baseline, greedy_rewards, valid)
            advantages = scale_advantages(
                rewards - baselines, rewards, valid, args.scale_rewards, batch_std=self._batch_std(rewards, valid)
            )
            if args.exploration_alpha is not None:
                group_ids = [b for b in range(batch_size) for _ in range(k)]
                diversity = torch.tensor(self._diversity_reward(sample_texts, group_ids=group_ids)).view(batch_size, k)
                diversity_adv = diversity_advantages(diversity)
                diversity_adv = scale_advantages(
                    diversity_adv, diversity, valid, args.scale_rewards, batch_std=self._batch_std(diversity, valid)
                )
                alpha = args.exploration_alpha
                advantages = alpha * advantages + (1 - alpha) * diversity_adv
                self._step_metrics["rewards/diversity/mean"].append(diversity.mean().item())
            advantages = torch.where(valid, advantages, 0.0)

            references = None
            if args.teacher_forcing_weight > 0 or args.xe_weight > 0:
                references = self._choose_references(columns)
                reference_ids = processor.caption_ids(references, args.max_completion_length)
            ref_rewards = None
            if args.teacher_forcing_weight > 0:
                g = args.xe_captions_per_video
                ref_extra = {"greedy_completions": [t for t in greedy_texts for _ in range(g)]} if greedy_ids is not None else {}
                ref_rewards, _, ref_valid = self._compute_rewards(references, reference_ids, columns, repeats=g, extra=ref_extra)
                ref_rewards = torch.where(ref_valid, ref_rewards, 0.0)

        with self._timed("forward"):
            ids, mask, rows_per_video = sample_ids, sample_mask, k
            if references is not None:
                # The references join the K captions of their video in one teacher-forced forward.
                g = args.xe_captions_per_video
                ref_ids, ref_mask = processor.pad_captions(reference_ids)
                ids, mask = _interleave_groups([(sample_ids, sample_mask, k), (ref_ids.to(device), ref_mask.to(device), g)], batch_size)
                rows_per_video = k + g
            outputs = caption_token_logprobs(
                model,
                processor,
                ids,
                mask,
                captions_per_video=rows_per_video,
                temperature=args.temperature,
                return_entropy=args.entropy_coef > 0,
                **loss_visual,
            )
            token_logprobs, entropy = outputs if args.entropy_coef > 0 else (outputs, None)
            rows = torch.arange(ids.shape[0], device=device).view(batch_size, rows_per_video)
            sample_rows, ref_rows = rows[:, :k].reshape(-1), rows[:, k:].reshape(-1)

            sample_logprobs = token_logprobs[sample_rows, : sample_mask.shape[1]]
            sequence_logprobs = self._sequence_logprobs(sample_logprobs, sample_mask)
            loss = policy_loss(sequence_logprobs, advantages.to(device), valid.to(device))
            metrics = self._step_metrics
            metrics["loss/policy"].append(loss.item())
            if references is not None:
                ref_token_logprobs = token_logprobs[ref_rows, : ref_mask.shape[1]]
                if args.xe_weight > 0:
                    xe = -ref_token_logprobs.sum() / ref_mask.sum()
                    loss = loss + args.xe_weight * xe
                    metrics["xe_loss"].append(xe.item())
                if args.teacher_forcing_weight > 0:
                    ref_sequence = self._sequence_logprobs(ref_token_logprobs, ref_mask.to(device))
                    wtf = -(ref_rewards.to(device) * ref_sequence).mean()
                    loss = loss + args.teacher_forcing_weight * wtf
                    metrics["loss/weighted_teacher_forcing"].append(wtf.item())
                    metrics["reward_references"].append(ref_rewards.mean().item())
            if entropy is not None:
                mean_entropy = entropy[sample_rows].sum() / sample_mask.sum()
                loss = loss - args.entropy_coef * mean_entropy
                metrics["entropy"].append(mean_entropy.item())
            if args.beta > 0:
                ref_logprobs = self._reference_token_logprobs(model, sample_ids, sample_mask, k, pixel_values, loss_visual)
                delta = ref_logprobs - sample_logprobs
                per_token_kl = (torch.exp(delta) - delta - 1) * sample_mask
                kl = per_token_kl.sum() / sample_mask.sum()
                loss = loss + args.beta * kl
                metrics["kl"].append(kl.item())

        flat_rewards = rewards.view(-1)[valid.view(-1)]
        for j, name in enumerate(self.reward_names):
            values = per_func[:, j][valid.view(-1)]
            values = values[~values.isnan()]
            if len(values):
                metrics[f"rewards/{name}/mean"].append(values.mean().item())
                metrics[f"rewards/{name}/std"].append(values.std().item() if len(values) > 1 else 0.0)
        if len(flat_rewards):
            metrics["reward"].append(flat_rewards.mean().item())
            metrics["reward_std"].append(flat_rewards.std().item() if len(flat_rewards) > 1 else 0.0)
        if greedy_rewards is not None and torch.isfinite(greedy_rewards).any():
            metrics["reward_greedy"].append(greedy_rewards[torch.isfinite(greedy_rewards)].mean().item())
        used = advantages[valid]
        metrics["advantage_std"].append(used.std().item() if len(used) > 1 else 0.0)
        metrics["completions/mean_length"].append(sample_mask.sum(dim=1).float().mean().item())
        if args.nonfinite_rewards == "skip":
            metrics["skipped_rewards"].append(float((~valid).sum()))
        self._maybe_log_completions(columns, sample_texts, per_func, rewards, advantages, k)
        return loss

    def _batch_std(self, rewards: torch.Tensor, valid: torch.Tensor):
        """Standard deviation of the valid rewards over every process's batch (for ``scale_rewards="batch"``)."""
        if self.args.scale_rewards != "batch":
            return None
        values = rewards[valid].double()
        stats = torch.stack([values.sum(), (values**2).sum(), torch.tensor(float(len(values)), dtype=torch.float64)])
        if self.accelerator.num_processes > 1:
            stats = self.accelerator.reduce(stats.to(self.args.device), reduction="sum").cpu()
        total, squares, count = stats.tolist()
        if count < 2:
            return torch.tensor(0.0)
        variance = max(squares - total * total / count, 0.0) / (count - 1)
        return torch.tensor(math.sqrt(variance), dtype=torch.float32)

    def _maybe_log_completions(self, columns, texts, per_func, rewards, advantages, k) -> None:
        args = self.args
        every = args.log_completions_steps or max(1, int(args.logging_steps))
        if not args.log_completions or self.state.global_step % every != 0 or not self.is_world_process_zero():
            return
        ids = columns.get(args.id_column) or list(range(len(texts) // k))
        rows = []
        for i, text in enumerate(texts[: args.num_completions_to_print]):
            row = {"step": self.state.global_step, "video": str(ids[i // k]), "completion": text}
            for j, name in enumerate(self.reward_names):
                value = per_func[i, j].item()
                row[name] = None if math.isnan(value) else round(value, 4)
            row["reward"] = round(rewards.view(-1)[i].item(), 4)
            row["advantage"] = round(advantages.view(-1)[i].item(), 4)
            row.update({column: values[i] for column, values in self._pending_extra.items() if i < len(values)})
            rows.append(row)
        self.completions_log.extend(rows)
        os.makedirs(args.output_dir, exist_ok=True)
        with open(os.path.join(args.output_dir, "completions.jsonl"), "a") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
        header = list(rows[0])
        table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        table += ["| " + " | ".join(str(row[key]) for key in header) + " |" for row in rows]
        logger.info("sampled captions at step %d:\n%s", self.state.global_step, "\n".join(table))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if return_outputs:
            raise ValueError("VideoSCSTTrainer does not return model outputs from compute_loss.")
        pixel_values, columns = inputs.get("pixel_values"), inputs["columns"]
        self._batch_video_keys = inputs.get("video_keys")
        self._sampling_state = inputs.get("sampling_state", self._sampling_state)
        if self.args.skip_corrupt_videos:
            # Cumulative counts of this process's undecodable videos and wholly unreadable batches (skipped, never
            # silently batched).
            self._step_metrics["skipped_videos"].append(float(getattr(self.data_collator, "num_skipped", 0)))
            self._step_metrics["skipped_batches"].append(float(getattr(self.data_collator, "num_skipped_batches", 0)))
        if is_empty_batch(inputs):
            # A zero loss that still reaches every trainable parameter, so that DDP / DeepSpeed processes whose
            # batch was readable reduce their gradients with this one's zeros instead of waiting for it.
            return sum(p.sum() for p in model.parameters() if p.requires_grad) * 0.0
        if self.state.global_step < self.args.xe_warmup_steps:
            return self._xe_loss(model, pixel_values, columns)
        # Video-aware rewards (CLIP-R, contrastive, ...) receive the decoded frames with the dataset columns.
        return self._rl_loss(model, pixel_values, {**columns, "video_frames": inputs["video_frames"]})

    # ------------------------------------------------------------------------------------------- checkpoints

    def _reward_state_path(self, checkpoint: str) -> str:
        # Online rewards update on each process's own batch: every process keeps (and restores) its own state.
        return os.path.join(checkpoint, f"reward_states_rank{self.accelerator.process_index}.pt")

    def _collator_state_path(self, checkpoint: str) -> str:
        return os.path.join(checkpoint, f"collator_state_rank{self.accelerator.process_index}.json")

    def _save_rng_state(self, output_dir: str) -> None:
        # Saved with the RNG states, before the Trainer writes trainer_state.json (its last file): a checkpoint with
        # that file has these too (see checkpoints.checkpoint_problems).
        super()._save_rng_state(output_dir)
        states = {name: func.state_dict() for name, func in zip(self.reward_names, self.reward_funcs) if hasattr(func, "state_dict")}
        if states:
            torch.save(states, self._reward_state_path(output_dir))
        # The frame sampler's state after the last batch trained on (the data loader has already collated the next).
        sampling_state = self._sampling_state
        if sampling_state is None and hasattr(self.data_collator, "state_dict"):
            sampling_state = self.data_collator.state_dict()
        if sampling_state is not None:
            with open(self._collator_state_path(output_dir), "w", encoding="utf-8") as handle:
                json.dump(sampling_state, handle)

    def _load_collator_state(self, checkpoint: str) -> None:
        # Before the first batch: the Trainer restores its own RNG states only after collating the first batch of
        # the resumed epoch, and skips the already-trained batches of that epoch without collating them.
        path = self._collator_state_path(checkpoint)
        if hasattr(self.data_collator, "load_state_dict") and os.path.exists(path):  # absent in older checkpoints
            load_checkpoint_file(path, lambda p: self.data_collator.load_state_dict(read_json(p)))

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs):
        """[`Trainer.train`]; ``resume_from_checkpoint=True`` resumes from the newest *complete* checkpoint (an
        incomplete newer one, left by a run killed while saving, is skipped with a warning naming it), and a given
        checkpoint is checked first: a missing or truncated file is an error naming it."""
        if resume_from_checkpoint:
            resume_from_checkpoint = resolve_resume_checkpoint(resume_from_checkpoint, self.args.output_dir, self.args.world_size)
            self._load_collator_state(resume_from_checkpoint)
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

    def _load_optimizer_and_scheduler(self, checkpoint) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)
        stateful = {name: func for name, func in zip(self.reward_names, self.reward_funcs) if hasattr(func, "load_state_dict")}
        if checkpoint is None or not stateful:
            return
        path = self._reward_state_path(checkpoint)
        if not os.path.exists(path):
            raise ValueError(
                f"{checkpoint} has no saved state for the reward(s) {sorted(stateful)} ({os.path.basename(path)}); "
                "resume with the rewards it was saved with, or start a new run."
            )
        # The states hold optimizer and RNG state written by this trainer (not arbitrary objects).
        states = load_checkpoint_file(path, lambda p: torch.load(p, weights_only=False))
        for name, func in stateful.items():
            if name not in states:
                raise ValueError(f"{path} has no state for reward {name!r} (it has {sorted(states)}).")
            func.load_state_dict(states[name])

    def training_step(self, model, inputs, num_items_in_batch=None):
        start = time.perf_counter()
        before = sum(self._phase_times.values())
        loss = super().training_step(model, inputs, num_items_in_batch)
        # Everything in training_step that is not a timed phase of compute_loss: mostly the backward pass.
        self._phase_times["backward"] += time.perf_counter() - start - (sum(self._phase_times.values()) - before)
        return loss

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        scheduler = super().create_scheduler(num_training_steps, optimizer)
        if self.args.xe_learning_rate is None or self.args.xe_warmup_steps == 0:
            return scheduler
        if not isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR):
            raise ValueError(
                f"xe_learning_rate needs a LambdaLR-based lr_scheduler_type, got {type(scheduler).__name__}; "
                "leave xe_learning_rate unset or choose e.g. 'linear', 'cosine' or 'constant'."
            )
        ratio, switch = self.args.xe_learning_rate / self.args.learning_rate, self.args.xe_warmup_steps
        scheduler.lr_lambdas = [_xe_scaled_lambda(f, ratio, switch) for f in scheduler.lr_lambdas]
        # LambdaLR applied the unscaled factor at construction; re-apply step 0's.
        for group, base_lr, f in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
            group["lr"] = base_lr * f(scheduler.last_epoch)
        scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]
        return scheduler

    # ------------------------------------------------------------------------------------------- evaluation / logging

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """Caption the evaluation set (greedy, or beam search with ``eval_num_beams``) and score it: CIDEr-D
        and BLEU-1..4, logged as ``{metric_key_prefix}_cider_d`` etc. (usable as ``metric_for_best_model``)."""
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if dataset is None:
            raise ValueError("evaluate needs an eval_dataset (pass it to the trainer or to evaluate).")
        # Under ZeRO-3 the parameters are gathered for decoding (a no-op otherwise).
        with unwrap_model_for_generation(self.model_wrapped, self.accelerator) as unwrapped:
            scores, _ = evaluate_captioner(
                unwrapped,
                self.processing_class,
                dataset,
                self.eval_data_collator,
                references_column=self.args.references_column,
                batch_size=self.args.per_device_eval_batch_size,
                num_beams=self.args.eval_num_beams,
                max_new_tokens=self.args.max_completion_length,
                show_progress=not self.args.disable_tqdm,
            )
        metrics = {f"{metric_key_prefix}_{key}": value for key, value in scores.items()}
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        # Evaluation logs can happen between two training logs (and with the model in train mode): only the
        # training log takes the accumulated step metrics.
        if "loss" in logs:
            local = {key: sum(values) / len(values) for key, values in self._step_metrics.items()}
            self._step_metrics.clear()
            if self.accelerator.num_processes > 1:
                # Every process logs (a collective): average each metric over the processes that have it.
                from accelerate.utils import gather_object

                merged: defaultdict[str, list[float]] = defaultdict(list)
                for metrics in gather_object([local]):
                    for key, value in metrics.items():
                        merged[key].append(value)
                local = {key: sum(values) / len(values) for key, values in merged.items()}
            logs.update(local)
        super().log(logs, start_time)

    def metrics_table(self, final_metrics: dict[str, float] | None = None, keys=("cider_d", "bleu_4")) -> str:
        """A Markdown table of the evaluations logged during training (at the start with ``eval_on_start``, at the
        end of the XE warm-up, at the end), plus ``final_metrics`` (e.g. ``evaluate(test_set, "test")``)."""
        rows = []
        for entry in self.state.log_history:
            if f"eval_{keys[0]}" in entry:
                step = entry.get("step", 0)
                if step == 0:
                    stage = "initial"
                elif step <= self.args.xe_warmup_steps:
                    stage = "XE"
                else:
                    stage = "SCST"
                rows.append((f"{stage} (step {step})", "eval", [entry.get(f"eval_{k}", float("nan")) for k in keys]))
        if final_metrics:
            prefix = next(iter(final_metrics)).split("_", 1)[0]
            values = [final_metrics.get(f"{prefix}_{k}", float("nan")) for k in keys]
            rows.append((f"final (step {self.state.global_step})", prefix, values))
        lines = ["| stage | split | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
        lines += [f"| {stage} | {split} | " + " | ".join(f"{v:.4f}" for v in values) + " |" for stage, split, values in rows]
        return "\n".join(lines)

    # Hub publishing

    _CARD_HYPERPARAMETERS = (
        "learning_rate", "num_generations", "rollout", "num_beams", "temperature", "scale_rewards", "beta",
        "entropy_coef", "xe_warmup_steps", "xe_weight", "teacher_forcing_weight", "exploration_alpha",
        "per_device_train_batch_size", "gradient_accumulation_steps", "max_steps", "num_train_epochs",
        "num_frames", "max_completion_length", "seed",
    )

    def _latest_eval_metrics(self, prefix: str = "eval") -> dict[str, float]:
        for entry in reversed(self.state.log_history):
            metrics = {k: v for k, v in entry.items() if k.startswith(f"{prefix}_") and isinstance(v, (int, float))}
            if any(k.endswith("cider_d") for k in metrics):
                return metrics
        return {}

    def create_model_card(
        self,
        model_name: str | None = None,
        dataset_name: str | None = None,
        tags: str | list[str] | None = None,
        eval_results: dict[str, float] | None = None,
        eval_split: str = "validation",
        base_model: str | None = None,
        merged_subfolder: str | None = None,
        **kwargs,
    ) -> None:
        """Write ``README.md`` (rendered from ``model_cards/video_captioner.md``) and ``training_config.json`` into
        ``output_dir``: base model, datasets, rewards and their weights, baseline, hyper-parameters, and the evaluation
        results as ``model-index`` metadata (``eval_results``, or the last evaluation logged during training)."""
        if self.is_world_process_zero():
            self._write_model_card(
                self.args.output_dir, model_name=model_name, dataset_name=dataset_name, tags=tags, eval_results=eval_results,
                eval_split=eval_split, base_model=base_model, merged_subfolder=merged_subfolder,
            )

    def _write_model_card(
        self, output_dir: str, model_name=None, dataset_name=None, tags=None, eval_results=None, eval_split="validation",
        base_model=None, merged_subfolder=None,
    ) -> None:
        from .. import hub

        os.makedirs(output_dir, exist_ok=True)
        captioner = unwrap_captioner(self.model)
        adapter = _is_peft_model(unwrap_distributed(self.model))
        if base_model is None:
            base_model = getattr(captioner.config, "_name_or_path", None) or None
            if base_model and os.path.isdir(base_model):
                base_model = None  # a local path means nothing on the Hub
        metrics = eval_results if eval_results is not None else self._latest_eval_metrics()
        results = hub.eval_results_from_metrics(metrics, dataset_name or "unknown", dataset_split=eval_split) if metrics else []
        hyperparameters = {key: getattr(self.args, key, None) for key in self._CARD_HYPERPARAMETERS}
        hyperparameters = {key: value for key, value in hyperparameters.items() if value is not None}
        card = hub.build_model_card(
            model_name or self.hub_model_id or os.path.basename(os.path.abspath(output_dir)),
            base_model=base_model,
            datasets=[dataset_name] if dataset_name else [],
            rewards=self.reward_names,
            reward_weights=self.reward_weights.tolist(),
            baseline=self.args.baseline,
            hyperparameters=hyperparameters,
            eval_results=results,
            adapter=adapter,
            merged_subfolder=merged_subfolder,
            repo_id=self.hub_model_id,
            model_class=type(captioner).__name__,
            processor_class=type(self.processing_class).__name__,
            tags=[tags] if isinstance(tags, str) else list(tags or []),
        )
        card.save(os.path.join(output_dir, "README.md"))
        with open(os.path.join(output_dir, "training_config.json"), "w") as f:
            f.write(self.args.to_json_string())

    def push_to_hub(
        self,
        commit_message: str | None = "End of training",
        blocking: bool = True,
        token: str | None = None,
        revision: str | None = None,
        private: bool | None = None,
        push_merged: bool = False,
        **kwargs,
    ):
        """Push the weights (the LoRA adapter when training with PEFT), the processor, ``training_config.json`` and
        the model card to ``args.hub_model_id`` in one commit; with ``push_merged=True`` also the adapter merged into
        the base model, in the repo's ``merged/`` folder (``from_pretrained(repo, subfolder="merged")``). Keyword
        arguments go to `create_model_card` (``dataset_name``, ``eval_results``, ``eval_split``, ``base_model``,
        ``tags``, ``model_name``).

        The files are staged in a temporary folder and copied into ``output_dir`` (``merged/`` excepted) only once
        the commit succeeded, so that a failed push leaves ``output_dir`` exactly as it was. For that, the push
        always completes before returning (``blocking`` is accepted for compatibility with `Trainer.push_to_hub`).

        Raises:
            HubPushError: the Hub could not be reached or refused; nothing was written into ``output_dir``.
        """
        from huggingface_hub import HfApi

        from .. import hub

        token = token if token is not None else self.args.hub_token
        revision = revision if revision is not None else self.args.hub_revision
        untouched = f"Nothing was written into {self.args.output_dir}; push again"
        if self.hub_model_id is None:
            with hub.hub_errors("creating the repository", self.args.hub_model_id, note=untouched):
                self.init_hf_repo(token=token, private=private)
        staging = tempfile.mkdtemp(prefix="hf_vidcap_push_")
        try:
            # Every process takes part (ZeRO-3 gathers the weights); only the main one writes and pushes.
            self.save_model(staging, _internal_call=True)
            if not self.is_world_process_zero():
                return None
            merged = push_merged and _is_peft_model(unwrap_distributed(self.model))
            if merged:
                kwargs.setdefault("merged_subfolder", "merged")
                merged_model = copy.deepcopy(unwrap_distributed(self.model)).merge_and_unload()
                merged_model.save_pretrained(os.path.join(staging, "merged"))
                self.processing_class.save_pretrained(os.path.join(staging, "merged"))
            kwargs.setdefault("model_name", self.hub_model_id.split("/")[-1])
            self._write_model_card(staging, **kwargs)
            with hub.hub_errors("pushing the checkpoint in", self.hub_model_id, note=untouched):
                info = HfApi(token=token).upload_folder(
                    repo_id=self.hub_model_id, folder_path=staging, commit_message=commit_message or "Upload", revision=revision
                )
            shutil.copytree(staging, self.args.output_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("merged"))
            return info
        finally:
            shutil.rmtree(staging, ignore_errors=True)
