"""Configuration the pipeline factories take: the feature repo's roles and cluster defaults.

The factories (`pipelines.training`, `pipelines.monitoring`) read nothing from the
environment or the disk themselves; `PipelineConfig.from_repo` reads the feature
repo's `suite.yaml` (through `components._suite`, the one parser) and its data
contract once, at compile time, so a compiled pipeline carries its contract, its
column roles and its names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components._suite import SuiteConfig, load_suite_config
from components._version import REPO_ROOT

FEATURE_REPO = REPO_ROOT / "feature_repo"


@dataclass(frozen=True)
class ClusterDefaults:
    """Defaults baked into compiled pipelines for a cluster run (`make submit`).

    Local runs (`make run`, `python -m pipelines train`, tests) override the location
    parameters at run time.
    """

    feature_repo: str = "/app/feature_repo"
    # {model} is the repo's model name: the bootstrap Job writes s3://suite-data/<model>/.
    entity_source: str = "s3://suite-data/{model}/labels.parquet"
    tracking_uri: str = "http://mlflow.suite.svc.cluster.local:5000"
    # What suite-prediction-logger writes (manifests/serving-logger); the live window's source.
    prediction_log: str = "s3://suite-data/predictions"
    deploy_target: str = "kserve"
    serving_namespace: str = "suite-serving"


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the pipeline factories need, read once at compile time.

    Attributes:
        suite: The feature repo's roles (`suite.yaml`).
        contract: Data contract (dict form of the repo's contract file).
        cluster: Defaults for location parameters of compiled pipelines.
        kubernetes: Whether to attach Kubernetes settings (Secrets, ConfigMap,
            resources, retries) to tasks; kfp.local ignores them either way.
    """

    suite: SuiteConfig
    contract: dict[str, Any]
    cluster: ClusterDefaults = field(default_factory=ClusterDefaults)
    kubernetes: bool = True

    @classmethod
    def from_repo(
        cls,
        feature_repo: str | Path = FEATURE_REPO,
        contract_path: str | Path | None = None,
        **overrides,
    ) -> PipelineConfig:
        """Builds the config from a feature repo's `suite.yaml` and its data contract.

        Args:
            feature_repo: Feature repo directory holding `suite.yaml`.
            contract_path: Data contract YAML; default: the one `suite.yaml` names.
            **overrides: Field values that win over the files.

        Raises:
            FileNotFoundError: The repo has no `suite.yaml` or the contract file is missing.
            components._suite.SuiteConfigError: `suite.yaml` is incomplete or has unknown keys.
        """
        from components.validate_data.contract import contract_parameter

        suite = load_suite_config(feature_repo)
        path = Path(contract_path) if contract_path else suite.contract_path
        if not path.is_file():
            raise FileNotFoundError(
                f"data contract {path} (suite.yaml `contract:`) does not exist; draft one with "
                f"`python -m pipelines draft-contract --feature-repo {feature_repo} "
                "--labels LABELS.parquet --out FILE`"
            )
        values: dict[str, Any] = {"suite": suite, "contract": contract_parameter(path)}
        values.update(overrides)
        return cls(**values)

    @property
    def training_name(self) -> str:
        """Name of the training pipeline, e.g. ``<prefix>-training``."""
        return self.suite.pipeline_name("training")

    @property
    def monitoring_name(self) -> str:
        """Name of the monitoring pipeline, e.g. ``<prefix>-monitoring``."""
        return self.suite.pipeline_name("monitoring")

    def replace(self, **changes) -> PipelineConfig:
        """Returns a copy with some fields changed."""
        return dataclasses.replace(self, **changes)
