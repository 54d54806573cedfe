"""Register a blessed model version as ``challenger`` and write its model card.

Aliases (MLflow stages are deprecated): ``challenger`` is the latest version that
passed the gate (set here), ``champion`` the version that serves and ``previous`` the
rollback target (moved by `components._aliases.promote`, which this step calls when
asked to promote right away). Registration holds the registered model's registry lock
(`components._registry_lock`), like every alias move.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components import _governance as gov
from components import _mlflow as mlf
from components._aliases import promote, repair_locked
from components._registry_lock import registry_lock

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from components._registry_lock import Ticket

# Model-artifact metadata key -> model-version tag.
_LINEAGE_KEYS = {
    "data_fingerprint": mlf.TAG_DATA_FINGERPRINT,
    "feature_service": mlf.TAG_FEATURE_SERVICE,
    "suite_version": mlf.TAG_SUITE_VERSION,
    "run_id": mlf.TAG_RUN_ID,
    "model_type": mlf.TAG_MODEL_TYPE,
}


@dataclass(frozen=True)
class Registration:
    """A registered model version.

    Attributes:
        name: Registered model name.
        version: Version number (as MLflow returns it, a string).
        created: False when the run's model was already registered (reused).
        model_uri: Source URI of the version.
        run_id: MLflow run that logged the model.
        previous_challenger: The version ``challenger`` pointed at before, if any.
    """

    name: str
    version: str
    created: bool
    model_uri: str
    run_id: str
    previous_challenger: str | None = None

    @property
    def version_uri(self) -> str:
        """The version as a pinned registry URI, ``models:/<name>/<version>``."""
        return mlf.models_uri(self.name, version=self.version)


def require_blessed(evaluation: Mapping[str, Any], run_id: str) -> None:
    """Refuses to register a model the gate did not bless, or another run's evaluation.

    Args:
        evaluation: `evaluate_model`'s JSON report.
        run_id: MLflow run of the model to register.

    Raises:
        ValueError: If the evaluation is of another run or did not bless it.
    """
    evaluated = evaluation["challenger"]["run_id"]
    if evaluated != run_id:
        raise ValueError(f"the evaluation is of run {evaluated}, not of the model's run {run_id}")
    if not evaluation["decision"]["blessed"]:
        reasons = "; ".join(evaluation["decision"]["reasons"])
        raise ValueError(f"run {run_id} was not blessed by the gate: {reasons}")


def lineage_tags(
    model_metadata: Mapping[str, Any],
    evaluation: Mapping[str, Any] | None = None,
    pipeline_run_id: str = "",
) -> dict[str, str]:
    """Returns the tags a model version carries: data, features, suite, runs, holdout metrics.

    Args:
        model_metadata: `train_model`'s Model metadata (or `TrainResult.metadata()`).
        evaluation: `evaluate_model`'s JSON report; its challenger metrics become
            ``holdout_*`` tags.
        pipeline_run_id: KFP run id that registers the model.
    """
    tags = {tag: str(model_metadata[key]) for key, tag in _LINEAGE_KEYS.items()}
    if pipeline_run_id:
        tags[mlf.TAG_PIPELINE_RUN_ID] = pipeline_run_id
    if evaluation is not None:
        challenger = evaluation["challenger"]
        measured = {**challenger["metrics"], "ece": challenger["calibration"]["ece"]}
        for key, value in measured.items():
            if value is not None:  # a non-finite metric is null in the strict-JSON report
                tags[f"{mlf.HOLDOUT_PREFIX}{key}"] = f"{value:.6g}"
        tags[mlf.TAG_HOLDOUT_FINGERPRINT] = evaluation["holdout_fingerprint"]
        tags[mlf.TAG_GATE_BLESSED] = str(evaluation["decision"]["blessed"]).lower()
    return tags


def _ensure_registered_model(client: MlflowClient, name: str) -> None:
    """Creates registered model `name` unless it exists."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise


def register(
    client: MlflowClient,
    name: str,
    model_uri: str,
    run_id: str,
    tags: Mapping[str, str] | None = None,
    model_id: str | None = None,
    why: str = "blessed by the gate",
    pipeline_run: str = "",
) -> Registration:
    """Registers the run's model under `name` (once) and points ``challenger`` at it.

    The alias move writes an audit record on the version (`components._governance`).

    Idempotent: if a version of `name` already has this run and source, it is
    reused (its tags refreshed) instead of creating a duplicate.

    Args:
        client: MLflow client.
        name: Registered model name.
        model_uri: The logged model's URI (``models:/m-...``).
        run_id: MLflow run that logged it.
        tags: Version tags (see `lineage_tags`).
        model_id: MLflow logged-model id, linking the version to the logged model.
        why: Reason recorded in the audit record.
        pipeline_run: Pipeline run recorded in the audit record.
    """
    tags = dict(tags or {})
    _ensure_registered_model(client, name)
    with registry_lock(client, name, f"register run {run_id}") as ticket:
        repair_locked(client, name, ticket)
        registration = _register_locked(client, name, model_uri, run_id, tags, model_id, ticket)
        previous = registration.previous_challenger
        gov.record_audit(
            client, name, registration.version, "set_alias", alias=mlf.ALIAS_CHALLENGER,
            why=why, run=pipeline_run or run_id, replaced=previous, ticket=ticket.number,
        )  # fmt: skip
        if previous and previous != registration.version:
            gov.record_audit(
                client, name, previous, "remove_alias", alias=mlf.ALIAS_CHALLENGER,
                why=f"v{registration.version} became the challenger",
                run=pipeline_run or run_id, ticket=ticket.number,
            )  # fmt: skip
        return registration


def _register_locked(
    client: MlflowClient,
    name: str,
    model_uri: str,
    run_id: str,
    tags: dict[str, str],
    model_id: str | None,
    ticket: Ticket,
) -> Registration:
    """`register`'s body; the caller holds the registry lock."""
    existing = [
        v
        for v in client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
        if v.source == model_uri
    ]
    if existing:
        version = str(min(int(v.version) for v in existing))
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, value)
    else:
        created = client.create_model_version(
            name, model_uri, run_id=run_id, tags=tags, model_id=model_id
        )
        version = str(created.version)
    previous = mlf.alias_version(client, name, mlf.ALIAS_CHALLENGER)
    ticket.ensure_held()
    client.set_registered_model_alias(name, mlf.ALIAS_CHALLENGER, version)
    return Registration(name, version, not existing, model_uri, run_id, previous)


@dataclass(frozen=True)
class RegisterConfig:
    """What `run` registers, and whether it promotes right away.

    Attributes:
        registered_model_name: Registered model name.
        model_metadata: `train_model`'s Model metadata (model_uri, run_id, model_id, lineage).
        evaluation: `evaluate_model`'s JSON report; must bless this model's run.
        promote: Promote right away (champion -> previous, this -> champion).
        pipeline_run_id: KFP run id (lineage tag).
        tracking_uri: MLflow tracking URI ("" = the suite default); used when `run`
            gets no client.
    """

    registered_model_name: str
    model_metadata: Mapping[str, Any]
    evaluation: Mapping[str, Any]
    promote: bool = True
    pipeline_run_id: str = ""
    tracking_uri: str = ""


@dataclass(frozen=True)
class RegisterResult:
    """The registered version and its model card (implements the component-result protocol).

    Attributes:
        registration: The registered version.
        promoted: Whether it was promoted to ``champion`` in this step.
        card: The Markdown model card.
    """

    registration: Registration
    promoted: bool
    card: str

    def metrics(self) -> dict[str, float]:
        """Returns the version number and whether it was promoted (0/1)."""
        return {
            "version": float(self.registration.version),
            "promoted": float(self.promoted),
        }

    def metadata(self) -> dict[str, Any]:
        """Returns the model card artifact's metadata: name, URI, version, promoted."""
        return {
            "registered_model_name": self.registration.name,
            "model_uri": self.registration.version_uri,
            "version": self.registration.version,
            "promoted": self.promoted,
        }

    def report(self) -> dict[str, Any]:
        """Returns the registration (version, source, run, previous challenger)."""
        return {**dataclasses.asdict(self.registration), "promoted": self.promoted}

    def markdown(self) -> str:
        """Returns the model card."""
        return self.card

    def return_value(self) -> str:
        """Returns the version's pinned registry URI, ``models:/<name>/<version>``."""
        return self.registration.version_uri


def run(config: RegisterConfig, *, client: MlflowClient | None = None) -> RegisterResult:
    """The component's work: check the gate, register as challenger, maybe promote, card.

    Args:
        config: The model, its evaluation and the registry.
        client: MLflow client; None = one for ``config.tracking_uri``.

    Raises:
        ValueError: If the evaluation did not bless this model's run.
        RegistryStateError: If an interrupted alias move cannot be finished.
    """
    run_id = config.model_metadata["run_id"]
    require_blessed(config.evaluation, run_id)
    client = client or mlf.mlflow_client(config.tracking_uri)
    name = config.registered_model_name
    registration = register(
        client,
        name,
        config.model_metadata["model_uri"],
        run_id,
        lineage_tags(config.model_metadata, config.evaluation, config.pipeline_run_id),
        config.model_metadata.get("model_id"),
    )
    if config.promote:
        promote(client, name, registration.version)
    card = model_card(client, name, registration.version)
    return RegisterResult(registration, config.promote, card)


def model_card(client: MlflowClient, name: str, version: str | int) -> str:
    """Returns a Markdown model card of a registered version, from the registry and its run.

    Args:
        client: MLflow client.
        name: Registered model name.
        version: Version number.
    """
    mv = client.get_model_version(name, str(version))
    aliases = sorted(client.get_registered_model(name).aliases.items())
    here = [alias for alias, v in aliases if str(v) == str(mv.version)]
    params = client.get_run(mv.run_id).data.params if mv.run_id else {}
    tags = dict(sorted(mv.tags.items()))
    metrics = {k: v for k, v in tags.items() if k.startswith(mlf.HOLDOUT_PREFIX)}
    lineage = {k: v for k, v in tags.items() if k not in metrics}
    lines = [
        f"# Model card: `{name}` version {mv.version}",
        "",
        f"- Aliases on this version: {', '.join(f'`{a}`' for a in here) or 'none'}",
        f"- All aliases: {', '.join(f'`{a}` -> v{v}' for a, v in aliases) or 'none'}",
        f"- Source: `{mv.source}`",
        f"- MLflow run: `{mv.run_id}`",
        f"- Model type: `{params.get('model_type', tags.get(mlf.TAG_MODEL_TYPE, 'unknown'))}`",
        "",
        "## Intended use",
        "",
        f"Scores the probability that `{params.get('label_column', 'the label')}` is 1:",
        "the served model answers one probability per row of the raw feature frame Feast",
        f"returns. Trained on feature service `{tags.get(mlf.TAG_FEATURE_SERVICE, 'unknown')}`;",
        "label and feature columns are listed under training parameters.",
        "",
        "## Holdout metrics (latest event times, unseen in training)",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k.removeprefix(mlf.HOLDOUT_PREFIX)} | {v} |" for k, v in metrics.items()],
        "",
        "## Lineage",
        "",
        "| tag | value |",
        "|---|---|",
        *[f"| {k} | `{v}` |" for k, v in lineage.items()],
        "",
        "## Training parameters",
        "",
        "| param | value |",
        "|---|---|",
        *[f"| {k} | `{v}` |" for k, v in sorted(params.items())],
        "",
        "## Limitations",
        "",
        "- Metrics come from one time-ordered holdout; they say nothing about data after",
        "  its last event time. Drift monitoring (`check_drift`) watches for that.",
        "- Categories unseen in training are encoded as all-zero (no effect of their own).",
        "",
    ]
    return "\n".join(lines)
