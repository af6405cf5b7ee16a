"""A weighted sum of rewards as one callable, for trainers that take a single reward (our trainer and TRL's take
lists with ``reward_weights`` and log each component themselves)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ._contract import check_finite, completion_text


def _name(func) -> str:
    return getattr(func, "__name__", None) or type(func).__name__


class _CombinedReward:
    def __init__(self, rewards: list[tuple[str, Callable, float]], name: str):
        self.rewards = rewards
        self.__name__ = name
        self.online_update = any(getattr(f, "online_update", False) for _, f, _ in rewards)

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        num = len(completions)
        texts = [completion_text(c) for c in completions]
        log_metric = kwargs.get("log_metric")
        totals: list[float | None] = [None] * num
        for name, func, weight in self.rewards:
            values = func(completions=completions, **kwargs)
            if len(values) != num:
                raise ValueError(
                    f"reward {name!r} returned {len(values)} values for {num} completions; it must return one per completion."
                )
            values = check_finite(name, values, texts)
            applicable = [v for v in values if v is not None]
            if log_metric is not None and applicable:
                log_metric(f"rewards/{name}/mean", sum(applicable) / len(applicable))
            for i, value in enumerate(values):
                if value is not None:
                    totals[i] = (totals[i] or 0.0) + weight * value
        return totals

    def update(self, human: Sequence[str], generated: Sequence[str]) -> dict[str, float]:
        """Forward the trainer's online update to the components that have one."""
        stats = {}
        for name, func, _ in self.rewards:
            if getattr(func, "online_update", False):
                stats.update({f"{name}/{key}": value for key, value in func.update(human, generated).items()})
        return stats


def combine_rewards(
    rewards: Mapping[str, Callable] | Sequence[Callable],
    weights: Sequence[float] | Mapping[str, float] | None = None,
    name: str = "combined",
) -> _CombinedReward:
    """``sum_k w_k * r_k`` as one reward callable (ReGen's r_total, WTF-RL's alpha-mix). A component returning
    `None` for a completion is left out of that completion's sum (all `None` gives `None`). Each component's batch
    mean is logged as ``rewards/<name>/mean`` through TRL's ``log_metric`` keyword when the trainer passes it.

    Args:
        rewards (`dict[str, callable]` or `list[callable]`): the components (a list uses their ``__name__``).
        weights (`list[float]` or `dict[str, float]`, *optional*): one per component; default all 1.
        name (`str`, *optional*, defaults to `"combined"`): the combined reward's ``__name__``.

    Example:
        >>> from hf_vidcap.rewards import combine_rewards, get_bleu_reward, get_cider_d_reward
        >>> logged = {}
        >>> reward = combine_rewards({"cider_d": get_cider_d_reward(), "bleu_4": get_bleu_reward()}, weights=[1.0, 0.5])
        >>> scores = reward(["a red circle"], captions=[["a red circle"]], log_metric=logged.__setitem__)
        >>> sorted(logged)
        ['rewards/bleu_4/mean', 'rewards/cider_d/mean']
    """
    items = list(rewards.items()) if isinstance(rewards, Mapping) else [(_name(f), f) for f in rewards]
    if not items:
        raise ValueError("rewards is empty; pass at least one reward callable.")
    names = [n for n, _ in items]
    if len(set(names)) != len(names):
        raise ValueError(f"reward names must be distinct, got {names}; pass a dict to name them.")
    for n, func in items:
        if not callable(func):
            raise TypeError(f"reward {n!r} is not callable.")
    if weights is None:
        weight_list = [1.0] * len(items)
    elif isinstance(weights, Mapping):
        unknown = set(weights) - set(names)
        if unknown:
            raise ValueError(f"weights names {sorted(unknown)} are not rewards; the rewards are {names}.")
        weight_list = [float(weights.get(n, 1.0)) for n in names]
    else:
        weight_list = [float(w) for w in weights]
        if len(weight_list) != len(items):
            raise ValueError(f"got {len(weight_list)} weights for {len(items)} rewards; pass one weight per reward.")
    return _CombinedReward([(n, f, w) for (n, f), w in zip(items, weight_list)], name)
