"""Publishing to the Hugging Face Hub: checkpoints (a LoRA adapter and optionally the merged model), model cards
rendered from `model_cards/` with the evaluation results as ``model-index`` metadata, evaluation results for an
existing repo, and the `evaluate` metric modules as Spaces.

Every push goes through huggingface_hub (so ``HF_ENDPOINT``, ``HF_TOKEN`` and ``hf auth login`` apply), and every
failure comes back as a `HubPushError` that names the repo, the endpoint and the local folder, which a failed push
never modifies.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "model_cards" / "video_captioner.md"
METRICS_DIR = Path(__file__).resolve().parent.parent / "metrics"
TASK_TYPE = "video-text-to-text"
TASK_NAME = "Video captioning"

METRIC_NAMES = {
    "cider_d": "CIDEr-D",
    "bleu_1": "BLEU-1",
    "bleu_2": "BLEU-2",
    "bleu_3": "BLEU-3",
    "bleu_4": "BLEU-4",
    "rouge_l": "ROUGE-L",
    "meteor": "METEOR",
    "spice": "SPICE",
    "clip_score": "CLIP-S",
    "ref_clip_score": "RefCLIP-S",
    "div_1": "Div-1",
    "div_2": "Div-2",
    "mbleu_4": "mBLEU-4",
    "self_bleu_4": "Self-BLEU-4",
    "vocabulary_size": "Vocabulary size",
    "top1_accuracy": "Top-1 accuracy",
    "top5_accuracy": "Top-5 accuracy",
    "harmonic_mean": "Harmonic mean (GZSL)",
}


class HubPushError(RuntimeError):
    """A push to the Hub failed; nothing local was changed."""


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


@contextlib.contextmanager
def hub_errors(action: str, repo_id: str | None, local: str | os.PathLike | None = None, note: str | None = None) -> Iterator[None]:
    """Re-raise network and Hub errors inside the block as a `HubPushError` that says what failed, where, and that
    the local files are untouched (``note`` replaces that last sentence, up to "once it is fixed")."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    where = f"{repo_id} on {_endpoint()}" if repo_id else _endpoint()
    if note is not None:
        untouched = f" {note}"
    else:
        untouched = f" The local files in {local} are untouched; push them again" if local else " Retry"
    try:
        yield
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        hint = (
            " Check the token: pass token=..., set HF_TOKEN, or run `hf auth login` with a token that can write to "
            "this namespace."
            if status in (401, 403)
            else ""
        )
        raise HubPushError(f"{action} {where} failed: the Hub answered {status}: {error}.{hint}{untouched} once it is fixed.") from error
    except (httpx2.TransportError, ConnectionError, TimeoutError) as error:
        raise HubPushError(
            f"{action} {where} failed: the connection to the Hub broke ({type(error).__name__}: {error}).{untouched} when "
            "the Hub is reachable (check HF_ENDPOINT and the network)."
        ) from error


def eval_results_from_metrics(
    metrics: Mapping[str, float],
    dataset_name: str,
    dataset_type: str | None = None,
    dataset_split: str = "test",
    dataset_config: str | None = None,
    task_type: str = TASK_TYPE,
) -> list:
    """`huggingface_hub.EvalResult`s (one per metric) from a ``{metric: value}`` dict; an ``eval_`` / ``test_``
    prefix (as the Trainer logs them) is dropped. Non-numeric values are skipped."""
    from huggingface_hub import EvalResult

    results = []
    for key, value in metrics.items():
        name = key.split("_", 1)[1] if key.startswith(("eval_", "test_")) else key
        if name in ("loss", "runtime", "samples_per_second", "steps_per_second", "epoch") or isinstance(value, bool):
            continue
        if not isinstance(value, (int, float)):
            continue
        results.append(
            EvalResult(
                task_type=task_type,
                task_name=TASK_NAME,
                dataset_type=dataset_type or dataset_name,
                dataset_name=dataset_name,
                dataset_split=dataset_split,
                dataset_config=dataset_config,
                metric_type=name,
                metric_name=METRIC_NAMES.get(name, name),
                metric_value=float(value),
            )
        )
    return results


def _versions() -> dict[str, str]:
    import importlib.metadata

    versions = {}
    for name in ("hf-vidcap", "transformers", "trl", "peft", "torch", "datasets", "evaluate"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def build_model_card(
    model_name: str,
    *,
    base_model: str | None = None,
    datasets: Sequence[str] = (),
    rewards: Sequence[str] = (),
    reward_weights: Sequence[float] | None = None,
    baseline: str | None = None,
    method: str = "SCST",
    hyperparameters: Mapping[str, object] | None = None,
    eval_results: Sequence | None = None,
    adapter: bool = False,
    merged_subfolder: str | None = None,
    repo_id: str | None = None,
    model_class: str = "VideoBlip2ForConditionalGeneration",
    processor_class: str = "VideoBlip2Processor",
    tags: Sequence[str] = (),
    license: str | None = None,
    template: str | os.PathLike = TEMPLATE,
):
    """A `huggingface_hub.ModelCard` rendered from ``model_cards/video_captioner.md``.

    Args:
        model_name (`str`): the card's title and the ``model-index`` name.
        base_model (`str`, *optional*): the checkpoint fine-tuned (a Hub id).
        datasets (`list[str]`): training datasets (Hub ids or names).
        rewards (`list[str]`), reward_weights (`list[float]`, *optional*): reward names and weights (default 1).
        baseline (`str`, *optional*): the SCST baseline.
        hyperparameters (`dict`, *optional*): shown as a table.
        eval_results (`list[EvalResult]`, *optional*): written as ``model-index`` metadata and as a table (see
            `eval_results_from_metrics`).
        adapter (`bool`): the repo holds a PEFT adapter; ``merged_subfolder`` names the folder with the merged model.
        repo_id (`str`, *optional*): used in the usage snippet.

    Returns:
        `huggingface_hub.ModelCard`; ``card.save(path)`` or ``card.push_to_hub(repo_id)``.
    """
    from huggingface_hub import ModelCard, ModelCardData

    weights = list(reward_weights) if reward_weights is not None else [1.0] * len(rewards)
    if len(weights) != len(rewards):
        raise ValueError(f"reward_weights has {len(weights)} values but there are {len(rewards)} rewards.")
    card_data = ModelCardData(
        model_name=model_name,
        base_model=base_model,
        datasets=list(datasets) or None,
        library_name="peft" if adapter else "transformers",
        pipeline_tag=TASK_TYPE,
        license=license,
        tags=sorted({"hf_vidcap", "video-captioning", "scst", "reinforcement-learning", *tags}),
        eval_results=list(eval_results) if eval_results else None,
    )
    target = repo_id or model_name
    if adapter:
        usage = (
            f"from peft import PeftModel\nfrom hf_vidcap import {model_class}, {processor_class}\n\n"
            f'base = {model_class}.from_pretrained("{base_model or "<base model>"}")\n'
            f'model = PeftModel.from_pretrained(base, "{target}")\n'
            f'processor = {processor_class}.from_pretrained("{target}")'
        )
        if merged_subfolder:
            usage += f'\n# or the merged model:\n# model = {model_class}.from_pretrained("{target}", subfolder="{merged_subfolder}")'
    else:
        usage = (
            f"from hf_vidcap import {model_class}, {processor_class}\n\n"
            f'model = {model_class}.from_pretrained("{target}")\nprocessor = {processor_class}.from_pretrained("{target}")'
        )
    return ModelCard.from_template(
        card_data,
        template_path=str(template),
        model_name=model_name,
        base_model=base_model,
        base_model_url=f"{_endpoint()}/{base_model}" if base_model else None,
        datasets=list(datasets),
        method=method,
        rewards=[{"name": name, "weight": weight} for name, weight in zip(rewards, weights)],
        baseline=baseline or "none",
        hyperparameters=dict(hyperparameters or {}),
        eval_results=list(eval_results or []),
        adapter=adapter,
        merged_subfolder=merged_subfolder,
        usage=usage,
        versions=_versions(),
    )


def push_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    path_in_repo: str | None = None,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str = "Upload with hf_vidcap",
    repo_type: str = "model",
    ignore_patterns: Sequence[str] | None = None,
):
    """Create ``repo_id`` if needed and upload ``folder`` in one commit. Returns the `CommitInfo`.

    Raises:
        HubPushError: on any network or Hub error; the local folder is only read.
    """
    from huggingface_hub import HfApi

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist; save the checkpoint there first.")
    api = HfApi(token=token)
    with hub_errors(f"pushing {folder} to", repo_id, folder):
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True, repo_type=repo_type).repo_id
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            path_in_repo=path_in_repo,
            commit_message=commit_message,
            revision=revision,
            repo_type=repo_type,
            ignore_patterns=list(ignore_patterns) if ignore_patterns else None,
        )


def push_eval_results(
    repo_id: str,
    metrics: Mapping[str, float],
    *,
    dataset_name: str,
    dataset_type: str | None = None,
    dataset_split: str = "test",
    dataset_config: str | None = None,
    model_name: str | None = None,
    token: str | None = None,
    overwrite: bool = True,
    commit_message: str = "Add evaluation results",
) -> str:
    """Add evaluation results to an existing model repo's card as ``model-index`` metadata (no retraining).
    Existing results for the same dataset, split and metric are replaced when ``overwrite`` (else an error).

    Returns:
        The commit URL.
    """
    from huggingface_hub import metadata_load, metadata_update
    from huggingface_hub.repocard_data import eval_results_to_model_index

    results = eval_results_from_metrics(metrics, dataset_name, dataset_type, dataset_split, dataset_config)
    if not results:
        raise ValueError(f"metrics ({dict(metrics)}) has no numeric values to push.")
    with hub_errors("pushing evaluation results to", repo_id):
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError

        try:
            existing = metadata_load(hf_hub_download(repo_id, "README.md", token=token)) or {}
        except EntryNotFoundError:
            existing = {}
        name = model_name or existing.get("model_name") or (existing.get("model-index") or [{}])[0].get("name") or repo_id.split("/")[-1]
        model_index = eval_results_to_model_index(name, results)
        return metadata_update(repo_id, {"model-index": model_index}, overwrite=overwrite, token=token, commit_message=commit_message)


def push_metric(
    name_or_folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    commit_message: str = "Upload evaluate module",
):
    """Publish an `evaluate` module (a folder of ``metrics/``, or its name) as a Space, so that
    ``evaluate.load(repo_id)`` works. The Space's name must be the module's (evaluate downloads ``<name>.py``)."""
    from huggingface_hub import HfApi

    folder = Path(name_or_folder)
    if not folder.is_dir():
        folder = METRICS_DIR / str(name_or_folder)
    if not folder.is_dir():
        known = sorted(p.name for p in METRICS_DIR.iterdir() if p.is_dir()) if METRICS_DIR.is_dir() else []
        raise ValueError(f"no metric module {name_or_folder!r}; use a folder path or one of {known}.")
    script = folder / f"{folder.name}.py"
    if not script.is_file():
        raise ValueError(f"{folder} has no {script.name}; an evaluate module folder holds <name>/<name>.py.")
    if repo_id.split("/")[-1] != folder.name:
        raise ValueError(f"repo_id {repo_id!r} must end with the module name {folder.name!r}: evaluate.load looks for {folder.name}.py.")
    api = HfApi(token=token)
    with hub_errors(f"pushing {folder} to", repo_id, folder):
        api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        return api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type="space", commit_message=commit_message, ignore_patterns=["__pycache__/*", "*.pyc"])


def push_predictions(
    video_ids: Sequence,
    captions: Sequence[str],
    repo_id: str,
    *,
    references: Sequence[Sequence[str]] | None = None,
    split: str = "test",
    token: str | None = None,
    private: bool | None = None,
    commit_message: str = "Upload generated captions",
):
    """Publish generated captions (one row per video: ``video_id``, ``caption``, optionally ``references``) as a
    Hub dataset split, loadable with ``datasets.load_dataset(repo_id, split=split)``."""
    import datasets

    if len(video_ids) != len(captions):
        raise ValueError(f"got {len(video_ids)} video_ids but {len(captions)} captions; pass one caption per video.")
    columns = {"video_id": [str(v) for v in video_ids], "caption": list(captions)}
    if references is not None:
        if len(references) != len(captions):
            raise ValueError(f"got {len(references)} reference lists for {len(captions)} captions.")
        columns["references"] = [list(r) for r in references]
    dataset = datasets.Dataset.from_dict(columns)
    with hub_errors("pushing captions to", repo_id):
        return dataset.push_to_hub(repo_id, split=split, token=token, private=private, commit_message=commit_message)
