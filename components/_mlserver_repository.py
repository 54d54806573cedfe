"""An MLServer model repository that serves MLflow models with the suite runtime.

Seldon Core 2's agent (v2.10.2, ``scheduler/pkg/agent/repository/mlserver/settings.go``)
writes a ``model-settings.json`` into every model folder that lacks one, and for a Model
with ``requirements: [mlflow]`` it names the stock ``mlserver_mlflow.MLflowRuntime``. An
implementation in model-settings wins over ``MLSERVER_MODEL_IMPLEMENTATION``, so without
this class the suite's Seldon Server would run the stock runtime (a bad request answers
500 instead of the suite runtime's 4xx) and Seldon would not serve what
``validate_serving`` checked.

MLServer loads model settings through its model repository both at start-up and on
the agent's ``POST /v2/repository/models/<name>/load``. Selecting this class with
``MLSERVER_MODEL_REPOSITORY_IMPLEMENTATION`` (manifests/serving-seldon/server.yaml and
manifests/serving/servingruntime.yaml) makes every model whose settings name the stock
MLflow runtime run the class named by ``MLSERVER_MODEL_IMPLEMENTATION`` instead, the
same class the KServe ServingRuntime runs. Settings that name any other implementation
are left alone.
"""

from __future__ import annotations

import os

from mlserver.logging import logger
from mlserver.repository.repository import SchemalessModelRepository
from mlserver.settings import ModelSettings

STOCK_MLFLOW_RUNTIME = "mlserver_mlflow.MLflowRuntime"
IMPLEMENTATION_ENV = "MLSERVER_MODEL_IMPLEMENTATION"


class SuiteModelRepository(SchemalessModelRepository):
    """MLServer's default repository, with the stock MLflow runtime swapped for the suite's."""

    async def list(self) -> list[ModelSettings]:
        """Returns the repository's model settings, MLflow models pinned to the suite runtime."""
        found = await super().list()
        target = os.environ.get(IMPLEMENTATION_ENV, "")
        if not target:
            logger.warning(
                f"{IMPLEMENTATION_ENV} is not set: MLflow models keep {STOCK_MLFLOW_RUNTIME}"
            )
            return found
        for settings in found:
            if settings.implementation_ == STOCK_MLFLOW_RUNTIME:
                logger.info(f"model {settings.name}: {STOCK_MLFLOW_RUNTIME} -> {target}")
                settings.implementation_ = target
        return found
