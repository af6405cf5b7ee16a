"""VideoSCSTTrainer: self-critical sequence training of video captioners, TRL-style.

Shapes: B videos per device batch, K = num_generations sampled captions per video, L caption tokens.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
from collections import defaultdict
from collections.abc import Callable, Sequence

import torch
from accelerate.utils import gather_object
from transformers import Trainer, TrainerCallback
from trl.models.utils import unwrap_model_for_generation

from ..captioning import (
    can_merge_greedy_and_samples,
    caption_token_logprobs,
    generate_captions,
    generate_greedy_and_samples,
    is_peft_model,
    make_generation_config,
    peft_wrapper,
    unwrap_captioner,
)
from ..data.collator import VideoCaptionCollator, is_empty_batch
from ..evaluation import generate_for_dataset, score_captions
from ..models.captioner import VideoCaptionerMixin, configure_captioner
from .baselines import compute_baselines, diversity_advantages, get_baseline, scale_advantages
from .checkpoints import CheckpointStateMixin
from .curves import RunRecordCallback, TrainingCurvesCallback
from .losses import policy_loss
from .publishing import HubPublishingMixin
from .references import check_dataset_columns, dataset_columns
from .rewarding import RewardScoringMixin, check_reward_funcs
from .rollouts import Rollouts, RolloutStrategy, Scores, get_rollout
from .scst_config import VideoSCSTConfig
from .timing import StepTimer, StepTimingMixin
from .visual_inputs import VisualInputsMixin

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


class VideoSCSTTrainer(CheckpointStateMixin, RewardScoringMixin, VisualInputsMixin, StepTimingMixin, HubPublishingMixin, Trainer):
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
        train_dataset, eval_dataset (`datasets.Dataset`): rows with a video column and, unless nothing reads them,
            a references column (a training set without captions, such as an action-recognition set with a
            ``label`` column, works with rewards that read other columns; what needs references says so).
        processing_class ([`VideoBlip2Processor`]): frames and text to model inputs; saved with checkpoints.
        data_collator (*optional*): defaults to a [`VideoCaptionCollator`] built from ``args``.
        peft_config (`peft.PeftConfig`, *optional*): wrap the model with PEFT (e.g. LoRA) before training; the KL
            reference is then the model with its adapters disabled.
        compute_metrics (*optional*): ``f(captions, columns) -> dict[str, float]``, called by `evaluate` with the
            generated captions and the evaluated rows' columns (gathered over processes); its metrics are logged
            next to CIDEr-D / BLEU, or instead of them for a dataset without reference captions (e.g.
            `hf_vidcap.evaluation.zero_shot_metrics`).
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
        compute_metrics=None,
    ):
        args = args or VideoSCSTConfig(output_dir="scst_output")
        if not isinstance(args, VideoSCSTConfig):
            raise TypeError(f"args must be a VideoSCSTConfig, got {type(args).__name__}.")
        if processing_class is None:
            raise ValueError("processing_class is required: pass the model's VideoBlip2Processor.")
        configure_captioner(model, processing_class)
        model = self._prepare_model(model, args, peft_config)
        self.reward_funcs, self.reward_names, self.reward_weights = check_reward_funcs(reward_funcs, args.reward_weights)
        has_references = check_dataset_columns(args, self.reward_funcs, self.reward_names, train_dataset, eval_dataset, compute_metrics)
        data_collator = self._build_collators(args, processing_class, data_collator, has_references)
        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            callbacks=[*(callbacks or []), _EvaluateAtXEEndCallback(), StepTimer(self), RunRecordCallback(), *([TrainingCurvesCallback()] if args.training_curves else [])],
            optimizers=optimizers,
            compute_metrics=compute_metrics,
        )
        # Training-step metrics, averaged into the next training log (the one carrying "loss").
        # Per-step numbers between two logs: floats, or detached tensors (losses on the device) read at log time.
        self._step_metrics: defaultdict[str, list] = defaultdict(list)
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
        self._init_parts(args, processing_class)
        self._check_feature_cache()

    # ------------------------------------------------------------------------------------------- helpers

    def _build_collators(self, args: VideoSCSTConfig, processing_class, data_collator, has_references: bool):
        """The training collator (``args.frame_sampling``) and ``eval_data_collator`` (always uniform sampling, so
        that scores are deterministic); a user's ``data_collator`` serves both."""
        settings = dict(
            num_frames=args.num_frames,
            video_column=args.video_column,
            references_column=args.references_column if has_references else None,
            id_column=args.id_column,
            skip_corrupt=args.skip_corrupt_videos,
            short_video=args.short_video,
            decoder=args.video_decoder,
        )
        self.eval_data_collator = data_collator or VideoCaptionCollator(processing_class, **settings)
        return data_collator or VideoCaptionCollator(processing_class, sampling=args.frame_sampling, seed=args.seed, **settings)

    def _init_parts(self, args: VideoSCSTConfig, processing_class) -> None:
        """The step's registered parts (rollout strategy, baseline) and the decoding settings they use."""
        self.rollout = get_rollout(args.rollout)
        self.rollout_config = self.rollout.generation_config(processing_class, args)
        self.greedy_config = make_generation_config(processing_class, args.max_completion_length)
        # Greedy captions and samples in one decoding pass when the rollout is plain sampling with the same limits.
        self._merge_greedy = (
            self.rollout_config is not None
            and type(self.rollout).generate is RolloutStrategy.generate
            and can_merge_greedy_and_samples(self.greedy_config, self.rollout_config)
        )
        self.baseline = get_baseline(args.baseline)
        self._needs_greedy = self.baseline.needs_greedy or any(
            getattr(func, "uses_greedy_completions", False) for func in self.reward_funcs
        )
        if args.exploration_alpha is not None:
            from ..rewards import get_diversity_reward

            self._diversity_reward = get_diversity_reward()

    def _prepare_model(self, model, args: VideoSCSTConfig, peft_config):
        """Load a model given by name, keep the KL reference, wrap with PEFT, apply the memory/dropout options."""
        if isinstance(model, str):
            from transformers import AutoModelForImageTextToText

            model = AutoModelForImageTextToText.from_pretrained(model)
        if not isinstance(unwrap_captioner(model), VideoCaptionerMixin):
            raise TypeError(
                f"{type(unwrap_captioner(model)).__name__} does not follow the captioner contract: inherit "
                "hf_vidcap.models.VideoCaptionerMixin, implement what it lists, and check it with "
                "hf_vidcap.models.check_video_captioner(model, processor)."
            )
        # Without PEFT, the KL reference is a frozen copy of the initial policy (with PEFT: adapters disabled).
        self.ref_model = None
        if args.beta > 0 and peft_config is None and not is_peft_model(model):
            self.ref_model = copy.deepcopy(model).eval().requires_grad_(False)
        if peft_config is not None:
            import dataclasses

            from peft import get_peft_model

            # PEFT's task-specific wrappers (CAUSAL_LM, SEQ_2_SEQ_LM) assume a text-only forward; a video captioner
            # needs the generic wrapper, whose LoRA layers are the same.
            if getattr(peft_config, "task_type", None) is not None:
                peft_config = dataclasses.replace(peft_config, task_type=None)
            model = get_peft_model(model, peft_config)
        if args.gradient_checkpointing and is_peft_model(model):
            # Checkpointed blocks whose inputs need no grad would drop the adapters' gradients.
            unwrap_captioner(model).enable_input_require_grads()
        if args.disable_dropout:
            for module in model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = 0.0
        return model

    def _is_zero3(self) -> bool:
        plugin = getattr(self.accelerator.state, "deepspeed_plugin", None)
        return plugin is not None and plugin.zero_stage == 3

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
        with self._timed("encode"):
            # A frozen vision tower runs once per video (cache_video_features) in the warm-up too.
            _, visual = self._visual_inputs(model, pixel_values, columns)
        with self._timed("forward"):
            token_logprobs = caption_token_logprobs(
                model, self.processing_class, caption_ids, caption_mask, captions_per_video=k, **visual
            )
        loss = -token_logprobs.sum() / caption_mask.sum()
        self._step_metrics["xe_loss"].append(loss.detach())
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
            peft_model = peft_wrapper(model)
            with peft_model.disable_adapter():
                return caption_token_logprobs(
                    peft_model, self.processing_class, ids, mask, captions_per_video=k, temperature=self.args.temperature, **visual
                )

    def _generate_rollouts(self, model, pixel_values: torch.Tensor, columns: dict) -> Rollouts:
        """Encode the batch once and draw the K rollouts (and the greedy captions, when a part asks) from it."""
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
                if self._needs_greedy and self._merge_greedy:
                    (greedy_ids, _), (ids, mask) = generate_greedy_and_samples(captioner, processor, video_embeds, self.rollout_config)
                else:
                    if self._needs_greedy:
                        greedy_ids, _ = generate_captions(captioner, processor, video_embeds, self.greedy_config)
                    ids, mask = self.rollout.generate(captioner, processor, video_embeds, self.rollout_config)
        with self._timed("reward"):
            return Rollouts(
                ids=ids,
                mask=mask,
                texts=processor.decode_captions(ids),
                num_generations=self.args.num_generations,
                loss_visual=loss_visual,
                greedy_ids=greedy_ids,
                greedy_texts=processor.decode_captions(greedy_ids) if greedy_ids is not None else None,
            )

    def _score_rollouts(self, rollouts: Rollouts, columns: dict) -> Scores:
        """Rewards of the rollouts, of the greedy captions when the baseline needs them, and of the references when
        weighted teacher forcing needs them."""
        args, k = self.args, rollouts.num_generations
        with self._timed("reward"):
            self._update_online_rewards(columns, rollouts.texts)
            extra = {"greedy_completions": rollouts.greedy_per_row(k)} if rollouts.greedy_texts is not None else {}
            id_lists = [row[mask.bool()].tolist() for row, mask in zip(rollouts.ids, rollouts.mask)]
            self._pending_extra = {}
            rewards, per_func, valid = self._compute_rewards(rollouts.texts, id_lists, columns, repeats=k, extra=extra, log=True)
            scores = Scores(rewards=rewards.view(-1, k), per_func=per_func, valid=valid.view(-1, k))
            if self.baseline.needs_greedy:
                greedy, _, greedy_valid = self._compute_rewards(
                    rollouts.greedy_texts, [row.tolist() for row in rollouts.greedy_ids], columns, repeats=1
                )
                scores.greedy_rewards = torch.where(greedy_valid, greedy, float("nan"))
            if args.teacher_forcing_weight > 0 or args.xe_weight > 0:
                scores.references = self._choose_references(columns)
                scores.reference_ids = self.processing_class.caption_ids(scores.references, args.max_completion_length)
            if args.teacher_forcing_weight > 0:
                g = args.xe_captions_per_video
                ref_extra = {"greedy_completions": rollouts.greedy_per_row(g)} if rollouts.greedy_texts is not None else {}
                ref_rewards, _, ref_valid = self._compute_rewards(scores.references, scores.reference_ids, columns, repeats=g, extra=ref_extra)
                scores.reference_rewards = torch.where(ref_valid, ref_rewards, 0.0)
        return scores

    def _compute_advantages(self, rollouts: Rollouts, scores: Scores) -> tuple[torch.Tensor, torch.Tensor]:
        """``(advantages, valid)`` (B, K): reward minus the baseline, scaled, mixed with the exploration term."""
        args, rewards = self.args, scores.rewards
        with self._timed("reward"):
            baselines, valid = compute_baselines(rewards, self.baseline, scores.greedy_rewards, scores.valid)
            advantages = scale_advantages(rewards - baselines, rewards, valid, args.scale_rewards, batch_std=self._batch_std(rewards, valid))
            if args.exploration_alpha is not None:
                diversity = torch.tensor(self._diversity_reward(rollouts.texts, group_ids=rollouts.group_ids)).view_as(rewards)
                diversity_adv = scale_advantages(
                    diversity_advantages(diversity), diversity, valid, args.scale_rewards, batch_std=self._batch_std(diversity, valid)
                )
                advantages = args.exploration_alpha * advantages + (1 - args.exploration_alpha) * diversity_adv
                self._step_metrics["rewards/diversity/mean"].append(diversity.mean().item())
        return torch.where(valid, advantages, 0.0), valid

    def _rl_loss(self, model, pixel_values: torch.Tensor, columns: dict) -> torch.Tensor:
        """One step as a pipeline: rollouts -> rewards -> advantages -> loss."""
        rollouts = self._generate_rollouts(model, pixel_values, columns)
        scores = self._score_rollouts(rollouts, columns)
        advantages, valid = self._compute_advantages(rollouts, scores)
        with self._timed("forward"):
            loss = self._loss_terms(model, pixel_values, rollouts, scores, advantages, valid)
        self._log_rollout_metrics(rollouts, scores, advantages, valid)
        self._maybe_log_completions(columns, rollouts.texts, scores.per_func, scores.rewards, advantages, rollouts.num_generations)
        return loss

    def _loss_terms(self, model, pixel_values, rollouts: Rollouts, scores: Scores, advantages, valid) -> torch.Tensor:
        """`policy_loss` over the rollouts, plus the XE, weighted-teacher-forcing, entropy and KL terms, from one
        teacher-forced forward over the rollouts (and the references, when a term needs them)."""
        args, processor, metrics = self.args, self.processing_class, self._step_metrics
        k, batch_size, device = rollouts.num_generations, rollouts.batch_size, rollouts.ids.device
        ids, mask, rows_per_video = rollouts.ids, rollouts.mask, k
        if scores.references is not None:
            # The references join the K captions of their video in one teacher-forced forward.
            g = args.xe_captions_per_video
            ref_ids, ref_mask = processor.pad_captions(scores.reference_ids)
            groups = [(rollouts.ids, rollouts.mask, k), (ref_ids.to(device), ref_mask.to(device), g)]
            ids, mask = _interleave_groups(groups, batch_size)
            rows_per_video = k + g
        outputs = caption_token_logprobs(
            model, processor, ids, mask, captions_per_video=rows_per_video, temperature=args.temperature,
            return_entropy=args.entropy_coef > 0, **rollouts.loss_visual,
        )
        token_logprobs, entropy = outputs if args.entropy_coef > 0 else (outputs, None)
        rows = torch.arange(ids.shape[0], device=device).view(batch_size, rows_per_video)
        sample_rows, ref_rows = rows[:, :k].reshape(-1), rows[:, k:].reshape(-1)
        sample_logprobs = token_logprobs[sample_rows, : rollouts.mask.shape[1]]
        policy = policy_loss(self._sequence_logprobs(sample_logprobs, rollouts.mask), advantages.to(device), valid.to(device))
        metrics["loss/policy"].append(policy.detach())
        loss = args.policy_weight * policy
        if scores.references is not None:
            ref_token_logprobs = token_logprobs[ref_rows, : ref_mask.shape[1]]
            if args.xe_weight > 0:
                xe = -ref_token_logprobs.sum() / ref_mask.sum()
                loss = loss + args.xe_weight * xe
                metrics["xe_loss"].append(xe.detach())
            if args.teacher_forcing_weight > 0:
                ref_sequence = self._sequence_logprobs(ref_token_logprobs, ref_mask.to(device))
                wtf = -(scores.reference_rewards.to(device) * ref_sequence).mean()
                loss = loss + args.teacher_forcing_weight * wtf
                metrics["loss/weighted_teacher_forcing"].append(wtf.detach())
                metrics["reward_references"].append(scores.reference_rewards.mean().item())
        if entropy is not None:
            mean_entropy = entropy[sample_rows].sum() / rollouts.mask.sum()
            loss = loss - args.entropy_coef * mean_entropy
            metrics["entropy"].append(mean_entropy.detach())
        if args.beta > 0:
            ref_logprobs = self._reference_token_logprobs(model, rollouts.ids, rollouts.mask, k, pixel_values, rollouts.loss_visual)
            delta = ref_logprobs - sample_logprobs
            kl = ((torch.exp(delta) - delta - 1) * rollouts.mask).sum() / rollouts.mask.sum()
            loss = loss + args.beta * kl
            metrics["kl"].append(kl.detach())
        return loss

    def _log_rollout_metrics(self, rollouts: Rollouts, scores: Scores, advantages, valid) -> None:
        metrics, flat_valid = self._step_metrics, valid.view(-1)
        flat_rewards = scores.rewards.view(-1)[flat_valid]
        for j, name in enumerate(self.reward_names):
            values = scores.per_func[:, j][flat_valid]
            values = values[~values.isnan()]
            if len(values):
                metrics[f"rewards/{name}/mean"].append(values.mean().item())
                metrics[f"rewards/{name}/std"].append(values.std().item() if len(values) > 1 else 0.0)
        if len(flat_rewards):
            metrics["reward"].append(flat_rewards.mean().item())
            metrics["reward_std"].append(flat_rewards.std().item() if len(flat_rewards) > 1 else 0.0)
        greedy = scores.greedy_rewards
        if greedy is not None and torch.isfinite(greedy).any():
            metrics["reward_greedy"].append(greedy[torch.isfinite(greedy)].mean().item())
        used = advantages[valid]
        metrics["advantage_std"].append(used.std().item() if len(used) > 1 else 0.0)
        metrics["completions/mean_length"].append(rollouts.mask.sum(dim=1).float().mean().detach())
        if self.args.nonfinite_rewards == "skip":
            metrics["skipped_rewards"].append(float((~valid).sum()))

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

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        scheduler = super().create_scheduler(num_training_steps, optimizer)
        if self.args.xe_learning_rate is None or self.args.xe_warmup_steps == 0:
            return scheduler
        if not isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR):
            raise ValueError(
                f"xe_learning_rate needs a LambdaLR-based lr_scheduler_type, got {type(scheduler).__name__}; "
                "leave xe_learning_rate unset or choose e.g. 'linear', 'cosine' or 'constant'."
            )
        # A new LambdaLR over the same optimizer, each factor scaled before the switch; built (rather than patched)
        # so that it applies step 0's factor itself. Its base rates are the groups' initial_lr set by the first.
        ratio, switch = self.args.xe_learning_rate / self.args.learning_rate, self.args.xe_warmup_steps
        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
            scheduler.optimizer, [_xe_scaled_lambda(f, ratio, switch) for f in scheduler.lr_lambdas]
        )
        return self.lr_scheduler

    # ------------------------------------------------------------------------------------------- evaluation / logging

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """Caption the evaluation set (greedy, or beam search with ``eval_num_beams``) and score it: CIDEr-D
        and BLEU-1..4, logged as ``{metric_key_prefix}_cider_d`` etc. (usable as ``metric_for_best_model``)."""
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if dataset is None:
            raise ValueError("evaluate needs an eval_dataset (pass it to the trainer or to evaluate).")
        column, columns_listed = self.args.references_column, dataset_columns(dataset)
        has_references = columns_listed is None or column in columns_listed
        if not has_references and self.compute_metrics is None:
            raise ValueError(
                f"the eval dataset has no {column!r} column of reference captions; set references_column, or pass "
                "compute_metrics to the trainer to score a dataset without captions."
            )
        collator = self.eval_data_collator
        if not has_references and getattr(collator, "references_column", None) is not None:
            collator = copy.copy(collator)
            collator.references_column = None
        # Each process captions a contiguous shard; the captions and references are gathered in dataset order and
        # every process scores the whole split (CIDEr-D's document frequencies need all of it).
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        shard = dataset.shard(num_shards=world, index=rank, contiguous=True) if world > 1 else dataset
        # Under ZeRO-3 the parameters are gathered for decoding (a no-op otherwise).
        with unwrap_model_for_generation(self.model_wrapped, self.accelerator) as unwrapped:
            captions, columns = generate_for_dataset(
                unwrapped,
                self.processing_class,
                shard,
                collator,
                batch_size=self.args.per_device_eval_batch_size,
                num_beams=self.args.eval_num_beams,
                max_new_tokens=self.args.max_completion_length,
                show_progress=not self.args.disable_tqdm and self.is_local_process_zero(),
            )
        if world > 1:  # one collective each, whatever columns a (possibly empty) shard has
            captions = gather_object(captions)
            merged: defaultdict[str, list] = defaultdict(list)
            for part in gather_object([columns]):
                for key, values in part.items():
                    merged[key].extend(values)
            columns = dict(merged)
        scores = score_captions(captions, columns[column], ("cider_d", "bleu")) if has_references else {}
        if self.compute_metrics is not None:
            scores.update(self.compute_metrics(captions, columns))
        metrics = {f"{metric_key_prefix}_{key}": value for key, value in scores.items()}
        self.log(metrics)
        if self.is_world_process_zero():  # the console line says which stage and split the numbers belong to
            shown = ", ".join(f"{key} {value:.4f}" for key, value in scores.items() if isinstance(value, float) and not key.endswith("_std"))
            logger.warning(f"evaluation, {self._stage(self.state.global_step)} stage (step {self.state.global_step}), {metric_key_prefix}: {shown}")
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics

    def _stage(self, step: int) -> str:
        """``"initial"`` (step 0), ``"XE"`` (the warm-up) or ``"SCST"``."""
        return "initial" if step == 0 else "XE" if step <= self.args.xe_warmup_steps else "SCST"

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        # Evaluation logs can happen between two training logs (and with the model in train mode): only the
        # training log takes the accumulated step metrics.
        if "loss" in logs:
            # Device tensors were kept as they are (no host sync in the step): they are read here, once per log.
            local = {key: sum(float(v) for v in values) / len(values) for key, values in self._step_metrics.items()}
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
                rows.append((f"{self._stage(step)} (step {step})", "eval", [entry.get(f"eval_{k}", float("nan")) for k in keys]))
        if final_metrics:
            prefix = next(iter(final_metrics)).split("_", 1)[0]
            values = [final_metrics.get(f"{prefix}_{k}", float("nan")) for k in keys]
            rows.append((f"final (step {self.state.global_step})", prefix, values))
        lines = ["| stage | split | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
        lines += [f"| {stage} | {split} | " + " | ".join(f"{v:.4f}" for v in values) + " |" for stage, split, values in rows]
        return "\n".join(lines)

    # Hub publishing
