"""What a run needs from its datasets' columns, checked before training starts.

Reference captions are optional: reward-driven tuning on an action-recognition set (ReGen: video + ``label``, no
captions) trains on rewards that read other columns. Everything that does read references must then say so up
front, naming the setting or the reward and the missing column, instead of failing inside the first step.
"""

from __future__ import annotations


def dataset_columns(dataset) -> list[str] | None:
    """The column names of a `datasets.Dataset` (None for datasets that do not list them)."""
    names = getattr(dataset, "column_names", None)
    return list(names) if isinstance(names, (list, tuple)) else None


def reference_needs(args, reward_funcs, reward_names) -> list[str]:
    """The settings and rewards of this run that read the reference captions (``args.references_column``)."""
    column = args.references_column
    needs = [
        f"{name}={getattr(args, name)}"
        for name, on in (
            ("xe_warmup_steps", args.xe_warmup_steps > 0),
            ("xe_weight", args.xe_weight > 0),
            ("teacher_forcing_weight", args.teacher_forcing_weight > 0),
        )
        if on
    ]
    for name, func in zip(reward_names, reward_funcs):
        if getattr(func, "online_update", False) or column in getattr(func, "required_columns", ()):
            needs.append(f"reward {name!r}")
    return needs


def check_dataset_columns(args, reward_funcs, reward_names, train_dataset, eval_dataset, compute_metrics) -> bool:
    """Raise a `ValueError` naming what needs a column the datasets lack; return whether the training rows carry
    reference captions (when the dataset does not list its columns, they are assumed present)."""
    column = args.references_column
    train_columns = dataset_columns(train_dataset)
    if train_columns is not None:
        if column not in train_columns:
            needs = reference_needs(args, reward_funcs, reward_names)
            if needs:
                raise ValueError(
                    f"{', '.join(needs)} need(s) reference captions, but train_dataset has no {column!r} column "
                    f"(columns: {train_columns}). Set references_column to the dataset's captions column, or, for a "
                    "dataset without captions (e.g. an action-recognition set), use rewards that do not read them "
                    "(cls_r, clip_r, grammar_mlm) and no XE warm-up, xe_weight or teacher forcing."
                )
        for name, func in zip(reward_names, reward_funcs):
            missing = [c for c in getattr(func, "required_columns", ()) if c not in train_columns]
            if missing:
                raise ValueError(
                    f"reward {name!r} reads the column(s) {missing}, which train_dataset lacks (columns: "
                    f"{train_columns}); add them or configure the reward with the dataset's column names."
                )
    eval_columns = dataset_columns(eval_dataset)
    if eval_columns is not None and column not in eval_columns and compute_metrics is None:
        raise ValueError(
            f"evaluation scores captions against the {column!r} column, which eval_dataset lacks (columns: "
            f"{eval_columns}); pass compute_metrics=... to VideoSCSTTrainer (e.g. "
            "hf_vidcap.evaluation.zero_shot_metrics for an action-recognition set) or set references_column."
        )
    return train_columns is None or column in train_columns
