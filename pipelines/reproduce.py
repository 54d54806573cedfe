"""Reproduce a registered version: rebuild its training frame, retrain, compare predictions.

`python -m pipelines reproduce --model NAME --version N` reads what the version's
training run recorded (`train_model` logs it: feature repo, labels file, label-time
window, feature service, data contract and its hash, model type, hyperparameter
overrides, search settings, holdout fraction, seed, the feature lists), retrieves the
frame again through Feast, and refuses when its fingerprint differs from the recorded
one: other data cannot reproduce a model, and saying "close enough" would hide that.
With the same data it retrains in a scratch MLflow store (the registry is not
touched) and compares the rebuilt model's holdout predictions with the registered
version's, row by row.

The data contract is not re-validated: the frame is byte-for-byte the one the contract
accepted (same fingerprint), so the verdict would be the same; the contract logged
with the run is checked against its recorded hash instead.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components import _mlflow as mlf
from components._fingerprint import frame_fingerprint

if TYPE_CHECKING:
    from mlflow import MlflowClient

# Exactly identical is expected (same data, seed, single-threaded fits); a difference
# below this is reported as "equal within float noise", anything above as different.
FLOAT_NOISE = 1e-12


class DataChanged(RuntimeError):
    """The training frame rebuilt today is not the one the version was trained on."""


class NotReproducible(ValueError):
    """The version's run does not record what reproducing it needs."""


@dataclass(frozen=True)
class RecordedTraining:
    """What a version's training run recorded about how it was made.

    Attributes:
        name: Registered model name.
        version: Version number.
        run_id: Training run.
        model_uri: ``models:/<name>/<version>``.
        feature_repo: Feature repo of the retrieval.
        entity_source: Labels file.
        start: Label-time window start ("" = unbounded).
        end: Label-time window end, exclusive ("" = unbounded).
        feature_service: Feast feature service.
        data_fingerprint: Fingerprint of the training frame.
        holdout_fingerprint: Fingerprint of the holdout the gate scored ("" = none).
        params: The run's params (model type, seed, hyperparameters, ...).
        tags: The version's tags over the run's (suite version, lock hash, ...).
        contract: The data contract logged with the run, or None.
    """

    name: str
    version: str
    run_id: str
    model_uri: str
    feature_repo: str
    entity_source: str
    start: str
    end: str
    feature_service: str
    data_fingerprint: str
    holdout_fingerprint: str
    params: dict[str, str]
    tags: dict[str, str]
    contract: dict[str, Any] | None = None


@dataclass
class Reproduction:
    """The outcome of a reproduction.

    Attributes:
        recorded: What the version recorded.
        frame_rows: Rows of the rebuilt training frame.
        holdout_rows: Rows of the rebuilt holdout.
        holdout_matches: The rebuilt holdout's fingerprint equals the recorded one.
        max_abs_diff: Largest |registered - rebuilt| P(positive) over the holdout.
        hyperparameter_differences: ``hp.*`` params that differ (recorded, rebuilt).
        contract_hash_matches: The logged contract hashes to the recorded hash (None
            when no contract was recorded).
        seconds: Wall time of the reproduction.
    """

    recorded: RecordedTraining
    frame_rows: int
    holdout_rows: int
    holdout_matches: bool
    max_abs_diff: float
    hyperparameter_differences: dict[str, tuple[str, str]] = field(default_factory=dict)
    contract_hash_matches: bool | None = None
    seconds: float = 0.0

    @property
    def identical(self) -> bool:
        """Holdout predictions are bit-identical."""
        return self.max_abs_diff == 0.0

    @property
    def reproduced(self) -> bool:
        """Same holdout, same hyperparameters, predictions equal within `FLOAT_NOISE`."""
        return (
            self.holdout_matches
            and not self.hyperparameter_differences
            and self.max_abs_diff <= FLOAT_NOISE
        )


def _say(message: str) -> None:
    print(f"[suite] reproduce: {message}", flush=True)


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split(",") if v)


def recorded_training(
    client: MlflowClient,
    name: str,
    version: str | int,
    feature_repo: str | Path | None = None,
    entity_source: str | Path | None = None,
) -> RecordedTraining:
    """Reads what a registered version's training run recorded.

    Args:
        client: MLflow client of the registry.
        name: Registered model name.
        version: Version number.
        feature_repo: Overrides the recorded feature repo (e.g. the cluster path
            ``/app/feature_repo`` seen from a laptop).
        entity_source: Overrides the recorded labels file.

    Raises:
        NotReproducible: If the run lacks a record reproducing needs (named).
        mlflow.exceptions.MlflowException: If the version does not exist.
    """
    mv = client.get_model_version(name, str(version))
    if not mv.run_id:
        raise NotReproducible(f"{name} v{mv.version} names no training run")
    run = client.get_run(mv.run_id)
    tags = {**run.data.tags, **mv.tags}
    params = dict(run.data.params)
    needed = {
        mlf.TAG_DATA_FINGERPRINT: tags.get(mlf.TAG_DATA_FINGERPRINT),
        mlf.TAG_FEATURE_SERVICE: tags.get(mlf.TAG_FEATURE_SERVICE),
        mlf.TAG_FEATURE_REPO: str(feature_repo or tags.get(mlf.TAG_FEATURE_REPO) or ""),
        mlf.TAG_ENTITY_SOURCE: str(entity_source or tags.get(mlf.TAG_ENTITY_SOURCE) or ""),
        "param hyperparameter_overrides": params.get("hyperparameter_overrides"),
        "param entity_column": params.get("entity_column"),
    }
    missing = [key for key, value in needed.items() if not value]
    if missing:
        raise NotReproducible(
            f"{name} v{mv.version} (run {mv.run_id}) cannot be reproduced: its training run "
            f"does not record {', '.join(missing)} (trained by an older suite, or outside the "
            "pipeline); pass --feature-repo / --labels if only those are missing"
        )
    return RecordedTraining(
        name=name,
        version=str(mv.version),
        run_id=mv.run_id,
        model_uri=f"models:/{name}/{mv.version}",
        feature_repo=needed[mlf.TAG_FEATURE_REPO],
        entity_source=needed[mlf.TAG_ENTITY_SOURCE],
        start=tags.get(mlf.TAG_TRAIN_START, ""),
        end=tags.get(mlf.TAG_TRAIN_END, ""),
        feature_service=tags[mlf.TAG_FEATURE_SERVICE],
        data_fingerprint=tags[mlf.TAG_DATA_FINGERPRINT],
        holdout_fingerprint=tags.get(mlf.TAG_HOLDOUT_FINGERPRINT, ""),
        params=params,
        tags=tags,
        contract=mlf.run_json(client, mv.run_id, mlf.CONTRACT_ARTIFACT),
    )


def train_config(recorded: RecordedTraining) -> Any:
    """Returns the `TrainConfig` the run recorded (no drift reference: not the model).

    Args:
        recorded: What the version recorded.
    """
    from components.train_model.core import TrainConfig

    p = recorded.params
    return TrainConfig(
        model_type=p["model_type"],
        hyperparameters=json.loads(p["hyperparameter_overrides"]),
        search_trials=int(p["search_trials"]),
        search_cv_splits=int(p["search_cv_splits"]),
        holdout_fraction=float(p["holdout_fraction"]),
        seed=int(p["seed"]),
        label_column=p["label_column"],
        timestamp_column=p["timestamp_column"],
        entity_column=p["entity_column"],
        categorical_features=_split(p.get("categorical_features", "")),
        numeric_features=_split(p.get("numeric_features", "")),
        drift_reference_rows=0,
    )


def reproduce(
    client: MlflowClient,
    name: str,
    version: str | int,
    feature_repo: str | Path | None = None,
    entity_source: str | Path | None = None,
) -> Reproduction:
    """Rebuilds a version's training frame, retrains it and compares holdout predictions.

    Args:
        client: MLflow client of the registry (only read).
        name: Registered model name.
        version: Version number.
        feature_repo: Overrides the recorded feature repo.
        entity_source: Overrides the recorded labels file.

    Raises:
        DataChanged: If the rebuilt frame's fingerprint differs from the recorded one.
        NotReproducible: If the run lacks a needed record.
    """
    import mlflow.pyfunc
    import numpy as np

    from components.get_features.core import GetFeaturesConfig
    from components.get_features.core import run as get_features
    from components.train_model import core as train_core

    started = time.monotonic()
    recorded = recorded_training(client, name, version, feature_repo, entity_source)
    window = f"[{recorded.start or '-inf'}, {recorded.end or '+inf'})"
    _say(
        f"{name} v{recorded.version}: rebuilding the training frame (feature service "
        f"{recorded.feature_service}, labels {recorded.entity_source}, window {window})"
    )
    retrieval = GetFeaturesConfig(
        recorded.feature_repo,
        recorded.feature_service,
        recorded.entity_source,
        recorded.start,
        recorded.end,
    )
    frame = get_features(retrieval).frame
    fingerprint = frame_fingerprint(frame)
    if fingerprint != recorded.data_fingerprint:
        raise DataChanged(
            f"{name} v{recorded.version} cannot be reproduced: the training frame rebuilt "
            f"from {recorded.entity_source} over {window} ({len(frame)} rows) has fingerprint "
            f"{fingerprint}, the version was trained on {recorded.data_fingerprint}. The "
            "labels or feature sources changed since; restore them (or the files the "
            "version recorded) to reproduce it"
        )
    _say(f"frame of {len(frame)} rows matches the recorded fingerprint {fingerprint}")

    registered = mlflow.pyfunc.load_model(recorded.model_uri)
    config = train_config(recorded)
    contract_ok = None
    if recorded.contract is not None:
        canonical = json.dumps(recorded.contract, sort_keys=True, default=str).encode()
        contract_hash = "sha256:" + hashlib.sha256(canonical).hexdigest()
        contract_ok = contract_hash == recorded.tags.get(mlf.TAG_CONTRACT_SHA256)
    _say(f"retraining {config.model_type} (seed {config.seed}) in a scratch MLflow store")
    with tempfile.TemporaryDirectory() as scratch:
        scratch_client = mlf.mlflow_client(f"sqlite:///{Path(scratch) / 'mlflow.db'}")
        lineage = train_core.Lineage(
            recorded.tags.get(mlf.TAG_SUITE_VERSION, ""),
            f"reproduce {name} v{recorded.version}",
            recorded.feature_service,
            recorded.entity_source,
        )
        rebuilt = train_core.train(frame, scratch_client, config, lineage, "reproduce")
        rebuilt_model = mlflow.pyfunc.load_model(rebuilt.model_uri)
        holdout = rebuilt.holdout
        ours = mlf.positive_probability(rebuilt_model.predict(holdout))
    mlf.mlflow_client(client.tracking_uri)  # fluent MLflow back on the caller's store
    theirs = mlf.positive_probability(registered.predict(holdout))
    recorded_hp = {k: v for k, v in recorded.params.items() if k.startswith("hp.")}
    rebuilt_hp = {f"hp.{k}": str(v) for k, v in rebuilt.hyperparameters.items()}
    differences = {
        key: (recorded_hp.get(key, "-"), rebuilt_hp.get(key, "-"))
        for key in sorted(set(recorded_hp) | set(rebuilt_hp))
        if recorded_hp.get(key) != rebuilt_hp.get(key)
    }
    return Reproduction(
        recorded=recorded,
        frame_rows=len(frame),
        holdout_rows=len(holdout),
        holdout_matches=frame_fingerprint(holdout) == recorded.holdout_fingerprint,
        max_abs_diff=float(np.max(np.abs(ours - theirs))) if len(ours) else 0.0,
        hyperparameter_differences=differences,
        contract_hash_matches=contract_ok,
        seconds=time.monotonic() - started,
    )


def summary_lines(result: Reproduction) -> list[str]:
    """Returns the short human summary of a reproduction.

    Args:
        result: What `reproduce` returned.
    """
    from components._version import lock_sha256

    r = result.recorded
    if result.identical:
        verdict = "identical"
    else:
        verdict = "equal within float noise" if result.reproduced else "DIFFERENT"
    hyperparameters = (
        f"DIFFER (recorded, rebuilt): {result.hyperparameter_differences}"
        if result.hyperparameter_differences
        else "as recorded"
    )
    contract = {None: "not recorded", True: "hash matches", False: "HASH DIFFERS"}
    recorded_lock, now_lock = r.tags.get(mlf.TAG_LOCK_SHA256, "not recorded"), lock_sha256()
    lock = "same as now" if recorded_lock == now_lock else f"{recorded_lock} (now {now_lock})"
    holdout = "as recorded" if result.holdout_matches else "DIFFERS from the recorded one"
    return [
        f"{r.name} v{r.version}: holdout predictions {verdict} "
        f"(max abs diff {result.max_abs_diff:.3g} over {result.holdout_rows} rows)",
        f"  training frame   {result.frame_rows} rows, {r.data_fingerprint} (as recorded)",
        f"  holdout          {result.holdout_rows} rows, fingerprint {holdout}",
        f"  window           [{r.start or '-inf'}, {r.end or '+inf'}) of {r.entity_source}",
        f"  training         {r.params.get('model_type')} seed {r.params.get('seed')}, "
        f"hyperparameters {hyperparameters}",
        f"  contract         {r.tags.get(mlf.TAG_CONTRACT, 'not recorded')} "
        f"({contract[result.contract_hash_matches]})",
        f"  suite            recorded {r.tags.get(mlf.TAG_SUITE_VERSION, '?')}; lock {lock}",
        f"  took             {result.seconds:.1f} s",
    ]
