"""Rewards following TRL's ``reward_funcs`` contract.

A reward is a callable ``reward(completions, **columns) -> list[float | None]``: it receives the generated
captions plus every dataset column of their samples (repeated once per completion) and the trainer's extras
as keyword arguments, and returns one float per completion (`None` = not applicable). It only scores:
baselines and advantages belong to the trainer. Each callable carries a ``__name__`` used for logging as
``rewards/<name>/mean``.
"""

from .cider_rewards import get_cider_d_reward

__all__ = ["get_cider_d_reward"]
