"""The suite's MLServer runtime: MLflow models with 4xx answers for bad requests.

Stock ``mlserver_mlflow.MLflowRuntime`` lets MLflow's schema enforcement raise
``MlflowException`` and answers a request with a missing column or a wrong type
with HTTP 500, and an empty batch reaches scikit-learn and fails there (500
again). A client cannot tell its own mistake from a broken server. This
subclass maps request problems to :class:`RequestSchemaError` (HTTP 422) with a
message that names the problem, and refuses to load a model without an input
signature, because without one nothing can be checked.

Every target uses this class: the local MLServer, ``validate_serving`` and the
cluster ServingRuntime (``MLSERVER_MODEL_IMPLEMENTATION`` =
:data:`components._serving.settings.RUNTIME_IMPLEMENTATION`).

Unlike ``core.py`` modules this one imports MLServer and MLflow at the top: it
is only ever imported by an MLServer process, which has both loaded anyway, and
a subclass needs its base class at definition time.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from fastapi import status
from mlflow.exceptions import MlflowException
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver_mlflow import MLflowRuntime

from components._observability.serving import observed_predict

# MLflow raises schema-enforcement failures with this error code.
_MLFLOW_SCHEMA_ERROR_CODE = "INVALID_PARAMETER_VALUE"


class RequestSchemaError(MLServerError):
    """A request that does not fit the model's input schema (HTTP 422)."""

    def __init__(self, msg: str):
        super().__init__(msg, status_code=status.HTTP_422_UNPROCESSABLE_ENTITY)


class ModelSignatureMissing(MLServerError):
    """A model logged without an input signature; the suite refuses to serve it."""

    def __init__(self, model_name: str):
        super().__init__(
            f"model {model_name!r} has no input signature: log it with "
            "`signature=infer_signature(X, y)` so requests can be checked",
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )


def _count_values(data: Any) -> int:
    values = getattr(data, "root", data)
    if isinstance(values, list | tuple):
        return sum(_count_values(v) for v in values)
    return 1


def check_tensor_shapes(payload: InferenceRequest) -> None:
    """Rejects inputs whose data does not fill their shape, or whose batch sizes differ.

    Without this, MLServer builds the frame from columns of different lengths and
    pandas pads the short ones with missing values: the model answers, with
    imputed data the client never sent.

    Raises:
        RequestSchemaError: Naming the input and the mismatch.
    """
    batch_sizes: dict[str, int] = {}
    for tensor in payload.inputs:
        declared = math.prod(tensor.shape)
        carried = _count_values(tensor.data)
        if carried != declared:
            raise RequestSchemaError(
                f"input {tensor.name!r} declares shape {tensor.shape} ({declared} values) "
                f"but carries {carried}"
            )
        if tensor.shape:
            batch_sizes[tensor.name] = tensor.shape[0]
    if len(set(batch_sizes.values())) > 1:
        raise RequestSchemaError(f"inputs have different batch sizes: {batch_sizes}")


def schema_error_message(exc: MlflowException) -> str:
    """Returns the part of an MLflow schema-enforcement error that names the problem.

    MLflow's message repeats the whole input frame and schema before the actual
    reason (``... Error: Model is missing inputs ['age'].``); for a batch of a
    thousand rows that buries the reason. Keep only the reason.

    Args:
        exc: The exception raised by ``PyFuncModel.predict``.
    """
    message = exc.message
    _, sep, reason = message.rpartition("Error: ")
    return reason.strip() if sep else message


class SuiteMLflowRuntime(MLflowRuntime):
    """``MLflowRuntime`` that answers request schema problems with HTTP 422."""

    async def load(self) -> bool:
        """Loads the MLflow model and insists on an input signature.

        Raises:
            ModelSignatureMissing: If the model has no input schema.
        """
        await super().load()
        if self._input_schema is None:
            raise ModelSignatureMissing(self.name)
        return True

    def decode_request(self, payload: InferenceRequest, default_codec: Any = None) -> Any:
        """Decodes a V2 request into a frame and rejects an empty or ragged batch.

        Raises:
            RequestSchemaError: If the inputs cannot be decoded into one table
                (data that does not fill its shape, columns of different lengths,
                data that does not match the declared datatype) or the batch has
                no rows.
        """
        check_tensor_shapes(payload)
        try:
            decoded = super().decode_request(payload, default_codec)
        except (ValueError, TypeError, KeyError) as exc:
            raise RequestSchemaError(f"request could not be decoded into a table: {exc}") from exc
        if isinstance(decoded, pd.DataFrame) and decoded.empty:
            raise RequestSchemaError(
                f"empty batch: the request has {len(decoded)} rows and "
                f"{len(decoded.columns)} columns; send at least one row"
            )
        return decoded

    @observed_predict  # latency, outcome and predicted-probability histograms per model
    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Predicts, turning MLflow schema enforcement failures into HTTP 422.

        Raises:
            RequestSchemaError: On a missing column or a column of the wrong type.
        """
        try:
            return await super().predict(payload)
        except MlflowException as exc:
            if exc.error_code != _MLFLOW_SCHEMA_ERROR_CODE:
                raise
            raise RequestSchemaError(
                f"request does not match the model's input schema: {schema_error_message(exc)}"
            ) from exc
