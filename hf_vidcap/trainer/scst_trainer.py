"""VideoSCSTTrainer: self-critical sequence training of video captioners, TRL-style.

Shapes: B videos per device batch, K = num_generations sampled captions per video, L caption tokens.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import torch
from transformers import Trainer, TrainerCallback

from ..captioning import caption_token_logprobs, generate_captions, make_generation_config, unwrap_captioner
from ..data.collator import VideoCaptionCollator
from ..evaluation import evaluate_captioner
from .scst_config import VideoSCSTConfig

RewardFunc = Callable[..., list]


def scst_loss(sequence_logprobs: torch.Tensor, rewards: torch.Tensor, baselines: torch.Tensor) -> torch.Tensor:
    """REINFORCE with a baseline (Rennie et al., eq. 9): ``-mean_i (r_i - b_i) * log p(w_i)``.

    Args:
        sequence_logprobs (`torch.Tensor` of shape (N,)): log-probability of each sampled caption (with grad).
        rewards (`torch.Tensor` of shape (N,)): reward of each sampled caption.
        baselines (`torch.Tensor` of shape (N,)): baseline of each sample (e.g. its video's greedy reward).
    """
    advantages = (rewards - baselines).to(sequence_logprobs.dtype)
    return -(advantages.detach() * sequence_logprobs).mean()


class _EvaluateAtXEEndCallback(TrainerCallback):
    """Evaluates when the XE warm-up ends, so that the XE captioner's scores are logged before SCST starts."""

    def on_step_end(self, args, state, control, **kwargs):
        if 0 < args.xe_warmup_steps == state.global_step and args.eval_strategy != "no" and state.global_step < state.max_steps:
            control.should_evaluate = True
        return control


class _XEScaledLambda:
    """A learning-rate factor scaled by ``ratio`` before step ``switch`` (picklable, for checkpoints)."""

    def __init__(self, factor, ratio: float, switch: int):
        self.factor, self.ratio, self.switch = factor, ratio, switch

    def __call__(self, step: int) -> float:
        return self.factor(step) * (self.ratio if step < self.switch else 1.0)


def _reward_name(func) -> str:
    return getattr(func, "__name__", None) or type(func).__name__


class VideoSCSTTrainer(Trainer):
    """Trainer for self-critical sequence training of a video captioner.

    Each step, for every video of the batch: encode the video once; decode one greedy caption and K sampled
    captions from that encoding (under no_grad); score all of them with the reward functions; and minimise
    ``-(r(sample) - r(greedy)) * log p(sample)``, the log-probability coming from a teacher-forced forward pass
    with gradients (never through ``generate``). During the first ``args.xe_warmup_steps`` steps the loss is
    teacher-forced cross-entropy on the reference captions instead.

    Args:
        model (`PreTrainedModel` or `str`):
            A video captioner ([`VideoBlip2ForConditionalGeneration`] or any model with ``get_video_embeds``,
            ``generate(video_embeds=...)`` and ``forward(video_embeds=... | pixel_values=..., captions_per_video=...)``),
            or a path/Hub id loaded with ``AutoModelForImageTextToText``.
        reward_funcs (`callable` or `list[callable]`):
            TRL-style rewards: ``f(prompts, completions, completion_ids, group_ids, **columns, trainer_state)``;
            the columns include ``video_frames`` (decoded uint8 frames) and, for the sampled captions,
            ``greedy_completions`` (see `hf_vidcap.rewards`). Rewards with ``online_update`` are updated each step.
            returning one float (or `None` = not applicable) per completion.
        args ([`VideoSCSTConfig`]): the configuration.
        train_dataset, eval_dataset (`datasets.Dataset`): rows with a video column and a references column.
        processing_class ([`VideoBlip2Processor`]): frames and text to model inputs; saved with checkpoints.
        data_collator (*optional*): defaults to a [`VideoCaptionCollator`] built from ``args``.
        peft_config (`peft.PeftConfig`, *optional*): wrap the model with PEFT (e.g. LoRA) before training.
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
        if peft_config is not None:
            import dataclasses

            from peft import get_peft_model

            # PEFT's task-specific wrappers (CAUSAL_LM, SEQ_2_SEQ_LM) assume a text-only forward; a video captioner
            # needs the generic wrapper, whose LoRA layers are the same.
            if getattr(peft_config, "task_type", None) is not None:
                peft_config = dataclasses.replace(peft_config, task_type=None)
            model = get_peft_model(model, peft_config)
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

        if data_collator is None:
            data_collator = VideoCaptionCollator(
                processing_class,
                num_frames=args.num_frames,
                video_column=args.video_column,
                references_column=args.references_column,
                skip_corrupt=args.skip_corrupt_videos,
            )
        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            callbacks=[*(callbacks or []), _EvaluateAtXEEndCallback()],
            optimizers=optimizers,
        )
        # Training-step metrics, averaged into the next training log (the one carrying "loss").
        self._step_metrics: defaultdict[str, list[float]] = defaultdict(list)
        self.sampling_config = make_generation_config(
            processing_class,
            args.max_completion_length,
            do_sample=True,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            num_return_sequences=args.num_generations,
        )
        self.greedy_config = make_generation_config(processing_class, args.max_completion_length)

    # ------------------------------------------------------------------------------------------- rewards

    def _compute_rewards(
        self, completions: list[str], completion_ids: list[list[int]], columns: dict, repeats: int, extra: dict | None = None
    ):
        """Weighted sum of the reward functions for N = B * repeats completions; returns (total (N,), per-func (N, F))."""
        num = len(completions)
        repeated = {key: [v for v in values for _ in range(repeats)] for key, values in columns.items()}
        repeated.update(extra or {})
        group_ids = [b for b in range(num // repeats) for _ in range(repeats)]
        per_func = torch.full((num, len(self.reward_funcs)), float("nan"))
        for j, func in enumerate(self.reward_funcs):
            values = func(
                prompts=[self.processing_class.prompt] * num,
                completions=completions,
                completion_ids=completion_ids,
                group_ids=group_ids,
                trainer_state=self.state,
                **repeated,
            )
            if len(values) != num:
                raise ValueError(
                    f"reward function {self.reward_names[j]!r} returned {len(values)} values for {num} completions; "
                    "it must return one value (or None) per completion."
                )
            for i, value in enumerate(values):
                if value is None:
                    continue
                if not math.isfinite(value):
                    sample = repeated.get("video_id", group_ids)[i]
                    raise ValueError(
                        f"reward function {self.reward_names[j]!r} returned {value} for completion {completions[i]!r} "
                        f"of sample {sample!r}; rewards must be finite (return None when a reward does not apply)."
                    )
                per_func[i, j] = float(value)
        applicable = ~per_func.isnan()
        if not applicable.any(dim=1).all():
            i = int((~applicable.any(dim=1)).nonzero()[0])
            raise ValueError(
                f"every reward function returned None for completion {completions[i]!r}; at least one reward must "
                "apply to each completion."
            )
        total = (per_func.nan_to_num(0.0) * self.reward_weights).sum(dim=1)
        return total, per_func

    def _update_online_rewards(self, columns: dict, generated: list[str]) -> None:
        """One update of every reward with ``online_update`` (WTF-RL's discriminator): the batch's references
        against its sampled captions, before they are scored."""
        human = [ref for refs in columns[self.args.references_column] for ref in refs]
        for name, func in zip(self.reward_names, self.reward_funcs):
            if getattr(func, "online_update", False):
                for key, value in func.update(human=human, generated=generated).items():
                    self._step_metrics[f"rewards/{name}/{key}"].append(float(value))

    # ------------------------------------------------------------------------------------------- losses

    def _visual_inputs(self, model, pixel_values: torch.Tensor):
        """Encode the batch once. Returns (detached embeddings for generation, kwargs for the loss forward)."""
        captioner = unwrap_captioner(model)
        with torch.no_grad():
            video_embeds = captioner.get_video_embeds(pixel_values)
        visual_trainable = any(
            p.requires_grad for name, p in captioner.named_parameters() if not name.startswith("language_model.")
        )
        if visual_trainable:
            # Gradients must reach the vision path: the loss forward encodes again (once per video, through the
            # wrapped model so DDP sees it) and repeats the encoding for the K captions.
            return video_embeds, {"pixel_values": pixel_values}
        # Frozen vision path: the generation-time encoding is reused by the loss forward as is.
        return video_embeds, {"video_embeds": video_embeds}

    def _xe_loss(self, model, pixel_values: torch.Tensor, columns: dict) -> torch.Tensor:
        references = columns[self.args.references_column]
        k = self.args.xe_captions_per_video
        chosen = []
        for refs in references:
            order = torch.randperm(len(refs)).tolist()
            # Without replacement while there are enough references, then cycling through them.
            chosen += [refs[order[i % len(refs)]] for i in range(k)]
        caption_ids, caption_mask = self.processing_class.pad_captions(
            self.processing_class.caption_ids(chosen, self.args.max_completion_length)
        )
        device = pixel_values.device
        caption_ids, caption_mask = caption_ids.to(device), caption_mask.to(device)
        token_logprobs = caption_token_logprobs(
            model, self.processing_class, caption_ids, caption_mask, pixel_values=pixel_values, captions_per_video=k
        )
        loss = -token_logprobs.sum() / caption_mask.sum()
        self._step_metrics["xe_loss"].append(loss.item())
        return loss

    def _scst_loss(self, model, pixel_values: torch.Tensor, columns: dict) -> torch.Tensor:
        args, processor = self.args, self.processing_class
        k = args.num_generations
        captioner = unwrap_captioner(model)
        video_embeds, loss_visual = self._visual_inputs(model, pixel_values)

        greedy_ids, _ = generate_captions(captioner, processor, video_embeds, self.greedy_config)
        sample_ids, sample_mask = generate_captions(captioner, processor, video_embeds, self.sampling_config)
        greedy_texts = processor.decode_captions(greedy_ids)
        sample_texts = processor.decode_captions(sample_ids)
        sample_id_lists = [row[mask.bool()].tolist() for row, mask in zip(sample_ids, sample_mask)]
        greedy_id_lists = [row.tolist() for row in greedy_ids]

        self._update_online_rewards(columns, sample_texts)
        greedy_per_sample = [text for text in greedy_texts for _ in range(k)]
        sample_rewards, per_func = self._compute_rewards(
            sample_texts, sample_id_lists, columns, repeats=k, extra={"greedy_completions": greedy_per_sample}
        )
        greedy_rewards, _ = self._compute_rewards(greedy_texts, greedy_id_lists, columns, repeats=1)
        baselines = greedy_rewards.repeat_interleave(k)

        token_logprobs = caption_token_logprobs(
            model,
            processor,
            sample_ids,
            sample_mask,
            captions_per_video=k,
            temperature=args.temperature,
            **loss_visual,
        )
        device = token_logprobs.device
        loss = scst_loss(token_logprobs.sum(dim=1), sample_rewards.to(device), baselines.to(device))

        metrics = self._step_metrics
        for j, name in enumerate(self.reward_names):
            values = per_func[:, j]
            values = values[~values.isnan()]
            if len(values):
                metrics[f"rewards/{name}/mean"].append(values.mean().item())
                metrics[f"rewards/{name}/std"].append(values.std().item() if len(values) > 1 else 0.0)
        metrics["reward"].append(sample_rewards.mean().item())
        metrics["reward_greedy"].append(greedy_rewards.mean().item())
        metrics["advantage_std"].append((sample_rewards - baselines).std().item() if len(baselines) > 1 else 0.0)
        metrics["completions/mean_length"].append(sample_mask.sum(dim=1).float().mean().item())
        return loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if return_outputs:
            raise ValueError("VideoSCSTTrainer does not return model outputs from compute_loss.")
        pixel_values, columns = inputs["pixel_values"], inputs["columns"]
        if self.args.skip_corrupt_videos:
            # Cumulative count of this process's undecodable videos (skipped, never silently batched).
            self._step_metrics["skipped_videos"].append(float(getattr(self.data_collator, "num_skipped", 0)))
        if self.state.global_step < self.args.xe_warmup_steps:
            return self._xe_loss(model, pixel_values, columns)
        # Video-aware rewards (CLIP-R, contrastive, ...) receive the decoded frames with the dataset columns.
        return self._scst_loss(model, pixel_values, {**columns, "video_frames": inputs["video_frames"]})

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
        scheduler.lr_lambdas = [_XEScaledLambda(f, ratio, switch) for f in scheduler.lr_lambdas]
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
        scores, _ = evaluate_captioner(
            self.model,
            self.processing_class,
            dataset,
            self.data_collator,
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
            for key, values in self._step_metrics.items():
                logs[key] = sum(values) / len(values)
            self._step_metrics.clear()
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
