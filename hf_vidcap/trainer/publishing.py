"""Publishing a trained captioner: the model card (rewards, baseline, hyper-parameters, evaluation results as
``model-index``), ``training_config.json``, and the push to the Hub, staged so that a failed push changes nothing
locally. Mixed into `VideoSCSTTrainer`."""

from __future__ import annotations

import copy
import os
import shutil
import tempfile

from ..captioning import is_peft_model, unwrap_captioner, unwrap_distributed


class HubPublishingMixin:
    """`create_model_card` and `push_to_hub` of `VideoSCSTTrainer` (a transformers `Trainer`)."""

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
        adapter = is_peft_model(unwrap_distributed(self.model))
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
            merged = push_merged and is_peft_model(unwrap_distributed(self.model))
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
