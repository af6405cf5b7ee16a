"""The key/value cache's keyword across the transformers versions we support.

transformers 5.24 renamed the cache keyword of `generate`, of the models' `forward` and of their outputs from
``past_key_values`` to ``cache`` (the old name is deprecated until 5.40); 5.23 knows only ``past_key_values``. A
model whose ``forward`` reads only one of the two names silently gets no cache under the other version (GIT then
misaligns its visual tokens, a seq2seq decoder re-reads its whole prefix every step). Our models accept both names
in ``forward``, and read and write the installed version's name everywhere else, through this module.
"""

from __future__ import annotations

import inspect

from transformers.generation.utils import GenerationMixin

# The keyword `generate` passes the cache under (and the cache field of model outputs) in the installed version.
CACHE_KWARG = (
    "cache" if "cache" in inspect.signature(GenerationMixin.prepare_inputs_for_generation).parameters else "past_key_values"
)


def resolve_cache(cache=None, past_key_values=None):
    """The one cache a ``forward`` was given, under either keyword."""
    if cache is not None and past_key_values is not None:
        raise ValueError("pass the key/value cache as `cache` or as `past_key_values` (its pre-5.24 name), not both.")
    return cache if cache is not None else past_key_values


def cache_kwargs(cache) -> dict:
    """``{name: cache}`` under the installed version's keyword, for calling transformers' modules and outputs."""
    return {CACHE_KWARG: cache}


def output_cache(outputs):
    """The cache held by a model output (``None`` when it holds none), without the deprecated attribute."""
    return outputs.get(CACHE_KWARG) if hasattr(outputs, "get") else getattr(outputs, CACHE_KWARG, None)


__all__ = ["CACHE_KWARG", "cache_kwargs", "output_cache", "resolve_cache"]
