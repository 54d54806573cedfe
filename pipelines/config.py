"""Configuration the pipeline factories take: where things are and every default.

The factories (`pipelines.training`, `pipelines.monitoring`) read nothing from the
environment or the disk themselves; `PipelineConfig.from_repo` reads the feature
repo's `suite.yaml` and data contract once, at compile time, so a compiled pipeline
carries its contract and column roles.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components._version import REPO_ROOT

FEATURE_REPO = REPO_ROOT / "feature_repo"
DEFAULT_CONTRACT = FEATURE_REPO / "contracts" / "churn_v1.yaml"


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    with path.open(encoding="utf-8") as fh:
        loaded = yaml.safe_load(fh)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return loaded


@dataclass(frozen=True)
class ClusterDefaults:
    """Defaults baked into compiled pipelines for a cluster run (`make submit`).

    Local runs (`make run`, tests) override the location parameters at run time.
    """

    feature_repo: str = "/app/feature_repo"
    entity_source: str = "s3://suite-data/churn/labels.parquet"
    tracking_uri: str = "http://mlflow.suite.svc.cluster.local:5000"
    deploy_target: str = "kserve"
    serving_namespace: str = "suite-serving"


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the pipeline factories need, read once at compile time.

    Attributes:
        contract: Data contract (dict form of `feature_repo/contracts/*.yaml`).
        label: Label column.
        entity_key: Entity join key.
        timestamp: Event timestamp column.
        feature_service: Default Feast feature service.
        categorical_features: Categorical feature columns.
        registered_model_name: MLflow registered model name.
        cluster: Defaults for location parameters of compiled pipelines.
        kubernetes: Whether to attach Kubernetes settings (Secrets, ConfigMap,
            resources, retries) to tasks; kfp.local ignores them either way.
    """

    contract: dict[str, Any]
    label: str = "churned"
    entity_key: str = "customer_id"
    timestamp: str = "event_timestamp"
    feature_service: str = "churn_v1"
    categorical_features: tuple[str, ...] = ("plan", "region", "channel")
    registered_model_name: str = "churn"
    cluster: ClusterDefaults = field(default_factory=ClusterDefaults)
    kubernetes: bool = True

    @classmethod
    def from_repo(
        cls, feature_repo: Path = FEATURE_REPO, contract_path: Path = DEFAULT_CONTRACT, **overrides
    ) -> PipelineConfig:
        """Builds the config from a feature repo's `suite.yaml` and a data contract file.

        Args:
            feature_repo: Feature repo directory holding `suite.yaml`.
            contract_path: Data contract YAML.
            **overrides: Field values that win over the files.
        """
        from components.validate_data.contract import contract_parameter

        suite = _load_yaml(Path(feature_repo) / "suite.yaml")
        values: dict[str, Any] = {
            "contract": contract_parameter(contract_path),
            "label": suite.get("label", cls.label),
            "entity_key": suite.get("entity_key", cls.entity_key),
            "timestamp": suite.get("timestamp", cls.timestamp),
            "feature_service": suite.get("feature_service", cls.feature_service),
            "categorical_features": tuple(
                suite.get("categorical_features", cls.categorical_features)
            ),
        }
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes) -> PipelineConfig:
        """Returns a copy with some fields changed."""
        return dataclasses.replace(self, **changes)
