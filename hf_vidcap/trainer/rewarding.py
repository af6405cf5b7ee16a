"""Calling the reward functions on a step's captions (TRL's ``reward_funcs`` contract plus ``group_ids``,
``greedy_completions`` and ``video_frames``), checking what they return, and naming the reward and the sample when
something is wrong. Mixed into `VideoSCSTTrainer`."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

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


def check_reward_funcs(reward_funcs, reward_weights):
    """``(funcs, names, weights)`` from one callable or a list, with clear errors for empty lists, non-callables,
    repeated names and a wrong number of weights."""
    reward_funcs = [reward_funcs] if callable(reward_funcs) else list(reward_funcs)
    if not reward_funcs:
        raise ValueError("reward_funcs is empty; pass at least one reward function.")
    for func in reward_funcs:
        if not callable(func):
            raise TypeError(f"reward function {func!r} is not callable.")
    if reward_weights is None:
        weights = [1.0] * len(reward_funcs)
    elif len(reward_weights) != len(reward_funcs):
        raise ValueError(
            f"reward_weights has {len(reward_weights)} values but there are {len(reward_funcs)} reward "
            "functions; give one weight per function."
        )
    else:
        weights = list(reward_weights)
    names = [_reward_name(f) for f in reward_funcs]
    if len(set(names)) != len(names):
        raise ValueError(f"reward function names {names} repeat; give each a distinct __name__ (they name the logged metrics).")
    return reward_funcs, names, torch.tensor(weights, dtype=torch.float32)


def _reward_name(func) -> str:
    return getattr(func, "__name__", None) or type(func).__name__


def _checked_reward_value(name: str, value, completion: str, sample, skip_nonfinite: bool) -> float | None:
    """One reward value as a float, or None for a non-finite one to skip; errors name the reward, the completion and
    the sample."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"reward function {name!r} returned {value!r} ({type(value).__name__}) for completion {completion!r} of "
            f"sample {sample!r}; a reward is a float, or None when it does not apply."
        )
    if not math.isfinite(value):
        if skip_nonfinite:
            return None
        raise ValueError(
            f"reward function {name!r} returned {value} for completion {completion!r} of sample {sample!r}; rewards "
            "must be finite (return None when a reward does not apply, or set nonfinite_rewards='skip' to drop such "
            "captions)."
        )
    if abs(value) > MAX_ABS_REWARD:
        raise ValueError(
            f"reward function {name!r} returned {value} for completion {completion!r} of sample {sample!r}; rewards "
            f"are combined in float32 and must stay within +-{MAX_ABS_REWARD:g}: rescale the reward (or its weight)."
        )
    return float(value)


class RewardScoringMixin:
    """Reward calls of `VideoSCSTTrainer`: ``reward_funcs``, ``reward_names``, ``reward_weights`` are set by it."""

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
            samples, skip = repeated.get(self.args.id_column, group_ids), self.args.nonfinite_rewards == "skip"
            for i, value in enumerate(values):
                if value is None:
                    continue
                checked = _checked_reward_value(self.reward_names[j], value, completions[i], samples[i], skip)
                if checked is None:
                    valid[i] = False
                else:
                    per_func[i, j] = checked
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
        online = [(name, func) for name, func in zip(self.reward_names, self.reward_funcs) if getattr(func, "online_update", False)]
        if not online:
            return
        human = [ref for refs in columns[self.args.references_column] for ref in refs]
        for name, func in online:
            for key, value in func.update(human=human, generated=generated).items():
                self._step_metrics[f"rewards/{name}/{key}"].append(float(value))

    # ------------------------------------------------------------------------------------------- losses
