"""Name -> class registries for the trainer's replaceable parts (baselines, rollout strategies)."""

from __future__ import annotations


class PartRegistry(dict):
    """Classes by name, each a subclass of ``base``; ``register(name)`` is a class decorator, ``create(name)`` an
    instance, and unknown names are errors listing the registered ones."""

    def __init__(self, kind: str, base: type):
        super().__init__()
        self.kind, self.base = kind, base

    def register(self, name: str):
        """Class decorator: make a subclass of the registry's base available as ``<kind>=name`` in the config."""

        def register(cls):
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise TypeError(f"register_{self.kind}({name!r}) decorates {self.base.__name__} subclasses, got {cls!r}.")
            cls.name = name
            self[name] = cls
            return cls

        return register

    def create(self, name: str):
        """An instance of the class registered as ``name``."""
        if name not in self:
            raise ValueError(
                f"{self.kind} ({name!r}) must be one of {list(self)}; add your own with "
                f"hf_vidcap.trainer.register_{self.kind}."
            )
        return self[name]()


__all__ = ["PartRegistry"]
