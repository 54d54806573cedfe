"""The suite's MLServer runtime: a truthful V2 contract, 4xx for bad requests, a prediction log.

Stock ``mlserver_mlflow.MLflowRuntime`` (1.7.1) advertises an output
``output-0`` of shape ``[-1]`` but answers ``output-1`` of shape ``[n, 1]``,
ignores which outputs a client asks for, lets MLflow's schema enforcement
answer a missing column or a wrong type with HTTP 500, and lets an empty batch
fail inside scikit-learn (500 again). A client cannot rely on the metadata, and
cannot tell its own mistake from a broken server. This subclass:

- names the output after the model's own signature (``train_model`` logs
  ``<label>_probability``) and answers exactly what the metadata lists: names,
  datatypes and shapes (``[-1]`` is answered as ``[n]``);
- honours requested outputs and answers an unknown one with 400 naming it;
- checks each input's datatype and shape against the metadata, and rejects
  ragged and empty batches, with 422 messages that name the input;
- returns the request id (the client's ``x-request-id``, else the V2 request
  ``id``) in the ``x-request-id`` response header, and, when a prediction log
  is configured (:data:`~components._serving.settings.PREDICTION_LOG_ENV`),
  records every answered request there without making the answer wait;
- reads tritonclient's binary tensor requests (:mod:`components._serving.binary`);
- serves a challenger in *shadow* when model-settings name one
  (:data:`~components._serving.settings.SHADOW_URI_PARAMETER`): the client gets
  the champion's answer; the challenger scores the same rows off the request
  path (a worker thread) and its answer is logged under the same request id with
  ``model_role`` = ``shadow``. A failing shadow is counted and logged, never
  answered;
- refuses to load a model without an input signature.

Every target uses this class: the local MLServer, ``validate_serving`` and the
cluster ServingRuntime (``MLSERVER_MODEL_IMPLEMENTATION`` =
:data:`components._serving.settings.RUNTIME_IMPLEMENTATION`).

Unlike ``core.py`` modules this one imports MLServer and MLflow at the top: it
is only ever imported by an MLServer process, which has both loaded anyway, and
a subclass needs its base class at definition time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from fastapi import status
from mlflow.exceptions import MlflowException
from mlflow.types import TensorSpec
from mlserver.codecs.numpy import to_datatype
from mlserver.errors import InferenceError, MLServerError
from mlserver.types import (
    InferenceRequest,
    InferenceResponse,
    MetadataTensor,
    Parameters,
    ResponseOutput,
)
from mlserver_mlflow import MLflowRuntime

from components._observability.serving import observed_predict
from components._serving import binary
from components._serving.prediction_log import (
    REQUEST_ID_HEADER,
    ROLE_SHADOW,
    PredictionLogWriter,
    PredictionRecord,
)
from components._serving.settings import (
    PREDICTION_LOG_ENV,
    PREDICTION_LOG_FLUSH_ENV,
    PREDICTION_LOG_PARAMETER,
    SHADOW_URI_PARAMETER,
    SHADOW_VERSION_PARAMETER,
)

logger = logging.getLogger(__name__)

binary.install()

# MLflow raises schema-enforcement failures with this error code.
_MLFLOW_SCHEMA_ERROR_CODE = "INVALID_PARAMETER_VALUE"


class RequestSchemaError(MLServerError):
    """A request that does not fit the model's input schema (HTTP 422)."""

    def __init__(self, msg: str):
        super().__init__(msg, status_code=status.HTTP_422_UNPROCESSABLE_ENTITY)


class UnknownOutputError(MLServerError):
    """A request asking for an output the model does not have (HTTP 400)."""

    def __init__(self, msg: str):
        super().__init__(msg, status_code=status.HTTP_400_BAD_REQUEST)


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


_NUMERIC = frozenset(
    {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
    | {"FP16", "FP32", "FP64"}
)
DEFAULT_OUTPUT_NAME = "prediction"
"""Output name of a model whose signature does not name its output."""


def _kind(datatype: str) -> str:
    return "number" if datatype in _NUMERIC else datatype


def check_inputs(payload: InferenceRequest, declared: list[MetadataTensor]) -> None:
    """Rejects inputs whose datatype or shape contradicts the model's metadata.

    Every input must carry one value per row: shape ``[n]`` or ``[n, 1]``. A
    declared input must have the declared kind of datatype: ``BYTES`` for
    text, ``BOOL`` for booleans, and any numeric type for a numeric input
    (widening, e.g. INT64 or FP32 for FP64, is allowed as MLflow casts safely).
    Inputs the model does not declare (e.g. the entity key, for the prediction
    log) are passed through and not checked beyond their shape.

    Raises:
        RequestSchemaError: Naming the input, what it carries and what is expected.
    """
    by_name = {t.name: t for t in declared}
    for tensor in payload.inputs:
        shape = list(tensor.shape)
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
            raise RequestSchemaError(
                f"input {tensor.name!r} has shape {shape}; each input is one column: "
                "shape [n] or [n, 1] for n rows"
            )
        spec = by_name.get(tensor.name)
        if spec is not None and _kind(tensor.datatype) != _kind(spec.datatype):
            raise RequestSchemaError(
                f"input {tensor.name!r} has datatype {tensor.datatype}; "
                f"the model expects {spec.datatype}"
            )


def request_id(payload: InferenceRequest) -> str:
    """Returns the id an answer is logged and returned under.

    The client's ``x-request-id`` header wins (it is what a gateway or KServe
    propagates); otherwise the V2 request ``id`` (the client's, or the one
    MLServer generated).
    """
    headers = (payload.parameters.headers if payload.parameters else None) or {}
    for key, value in headers.items():
        if key.lower() == REQUEST_ID_HEADER and value:
            return str(value)
    return str(payload.id or "")


@dataclass(frozen=True)
class OutputContract:
    """One output as the metadata advertises it and every response carries it."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def metadata(self) -> MetadataTensor:
        """Returns the V2 metadata tensor."""
        return MetadataTensor(name=self.name, datatype=self.datatype, shape=list(self.shape))

    def conform(self, values: Any, rows: int) -> np.ndarray:
        """Returns ``values`` as an array of the declared datatype and shape for ``rows`` rows.

        A ``[n, 1]`` answer for a declared ``[-1]`` is flattened.

        Raises:
            InferenceError: If the model's answer does not fit the declared
                shape (a model/signature mismatch: the server's fault, 500).
        """
        array = np.asarray(values)
        if len(self.shape) == 1 and array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        expected = [rows if d == -1 else d for d in self.shape]
        if list(array.shape) != expected:
            raise InferenceError(
                f"the model answered output {self.name!r} with shape {list(array.shape)} "
                f"but its signature declares {list(self.shape)} ({expected} for {rows} rows)"
            )
        return array.astype(_NUMPY_DTYPES.get(self.datatype, array.dtype), copy=False)


_NUMPY_DTYPES = {
    "FP64": "float64",
    "FP32": "float32",
    "INT64": "int64",
    "INT32": "int32",
    "BOOL": "bool",
}


def output_contracts(signature: Any) -> list[OutputContract]:
    """Returns the outputs a model answers, from its MLflow signature.

    A tensor output keeps its dtype and shape; a column output is ``[-1]``.
    An unnamed single output is called :data:`DEFAULT_OUTPUT_NAME` (the
    suite's ``train_model`` names it ``<label>_probability``). A model without
    an output schema is taken to answer one FP64 value per row.
    """
    specs = list(signature.outputs.inputs) if signature and signature.outputs else []
    if not specs:
        return [OutputContract(DEFAULT_OUTPUT_NAME, "FP64", (-1,))]
    contracts = []
    for index, spec in enumerate(specs):
        fallback = DEFAULT_OUTPUT_NAME if len(specs) == 1 else f"{DEFAULT_OUTPUT_NAME}_{index}"
        name = spec.name or fallback
        if isinstance(spec, TensorSpec):
            datatype = to_datatype(spec.type).value
            shape = tuple(int(d) for d in spec.shape)
        else:
            datatype = to_datatype(np.dtype(spec.type.to_numpy())).value
            shape = (-1,)
        contracts.append(OutputContract(name, datatype, shape))
    return contracts


def _split_outputs(raw: Any, contracts: list[OutputContract]) -> dict[str, Any]:
    if len(contracts) == 1:
        if isinstance(raw, pd.DataFrame) and raw.shape[1] == 1:
            return {contracts[0].name: raw.iloc[:, 0].to_numpy()}
        if isinstance(raw, dict) and len(raw) == 1:
            return {contracts[0].name: next(iter(raw.values()))}
        return {contracts[0].name: raw}
    if isinstance(raw, pd.DataFrame | dict):
        missing = [c.name for c in contracts if c.name not in raw]
        if missing:
            raise InferenceError(f"the model's answer lacks the declared outputs {missing}")
        return {c.name: np.asarray(raw[c.name]) for c in contracts}
    raise InferenceError(
        f"the model declares {len(contracts)} outputs but answered one {type(raw).__name__}"
    )


class SuiteMLflowRuntime(MLflowRuntime):
    """``MLflowRuntime`` with a truthful, named V2 contract, 4xx answers and a prediction log."""

    async def load(self) -> bool:
        """Loads the MLflow model, fixes the output metadata and opens the prediction log.

        The log root is the model-settings parameter ``prediction_log``, else
        the environment variable :data:`PREDICTION_LOG_ENV`; neither means no log.

        Raises:
            ModelSignatureMissing: If the model has no input schema.
        """
        await super().load()
        if self._input_schema is None:
            raise ModelSignatureMissing(self.name)
        self._contracts = output_contracts(self._signature)
        self.outputs = [c.metadata() for c in self._contracts]
        self._declared_inputs = list(self.inputs or [])
        self._accepts_params = bool(self._signature and self._signature.params)
        extra = (self._settings.parameters.model_extra or {}) if self._settings.parameters else {}
        root = extra.get(PREDICTION_LOG_PARAMETER) or os.environ.get(PREDICTION_LOG_ENV)
        flush_s = float(os.environ.get(PREDICTION_LOG_FLUSH_ENV) or 2.0)
        self._log = PredictionLogWriter(root, flush_interval_s=flush_s) if root else None
        self._shadow = None
        self._shadow_version = str(extra.get(SHADOW_VERSION_PARAMETER) or "")
        self._shadow_tasks: set[asyncio.Future] = set()
        self.shadow_failures = 0
        shadow_uri = extra.get(SHADOW_URI_PARAMETER)
        if shadow_uri:
            if self._log is None:
                raise MLServerError(
                    f"model {self.name!r} names a shadow model ({shadow_uri}) but no prediction "
                    f"log: set model-settings parameter {PREDICTION_LOG_PARAMETER!r} or "
                    f"${PREDICTION_LOG_ENV}; a shadow's answers only exist in the log",
                    status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
                )
            import mlflow.pyfunc

            self._shadow = mlflow.pyfunc.load_model(str(shadow_uri))
        return True

    def _score_shadow(self, frame: pd.DataFrame, rid: str, when: dt.datetime) -> None:
        """Scores the shadow model on a request's rows and logs its answer (worker thread)."""
        try:
            raw = self._shadow.predict(frame)
            rows = len(frame)
            arrays = {
                c.name: c.conform(values, rows)
                for c, values in zip(
                    self._contracts, _split_outputs(raw, self._contracts).values(), strict=True
                )
            }
        # The shadow must never affect what the champion answers: any failure of the
        # challenger's code is counted and logged, and serving goes on.
        except Exception as exc:
            self.shadow_failures += 1
            logger.warning("shadow model of %s failed on request %s: %s", self.name, rid, exc)
            return
        self._log.record(
            PredictionRecord(
                request_id=rid,
                model_name=self.name,
                model_version=self._shadow_version,
                timestamp=when,
                inputs=frame,
                outputs=arrays,
                model_role=ROLE_SHADOW,
            )
        )

    def _start_shadow(self, frame: pd.DataFrame, rid: str, when: dt.datetime) -> None:
        future = asyncio.get_running_loop().run_in_executor(
            None, self._score_shadow, frame, rid, when
        )
        self._shadow_tasks.add(future)
        future.add_done_callback(self._shadow_tasks.discard)

    async def unload(self) -> bool:
        """Writes what the prediction log still holds, then unloads."""
        pending = list(getattr(self, "_shadow_tasks", ()))
        if pending:
            await asyncio.wait(pending, timeout=30)
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
        return await super().unload()

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

    def _requested(self, payload: InferenceRequest) -> list[OutputContract]:
        if not payload.outputs:
            return self._contracts
        by_name = {c.name: c for c in self._contracts}
        unknown = [o.name for o in payload.outputs if o.name not in by_name]
        if unknown:
            raise UnknownOutputError(
                f"requested output {unknown[0]!r} does not exist; model {self.name!r} "
                f"has outputs {list(by_name)}"
            )
        return [by_name[o.name] for o in payload.outputs]

    def _params(self, payload: InferenceRequest) -> dict[str, Any] | None:
        if not self._accepts_params or not payload.parameters:
            return None
        return payload.parameters.model_extra or None

    @observed_predict  # latency, outcome and predicted-probability histograms per model
    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Checks the request, predicts, answers the requested outputs and logs the answer.

        Raises:
            RequestSchemaError: A wrong datatype or shape, a ragged or empty
                batch, a missing column (HTTP 422).
            UnknownOutputError: An output the model does not have (HTTP 400).
            InferenceError: The model's answer does not fit its signature (500).
        """
        check_inputs(payload, self._declared_inputs)
        requested = self._requested(payload)
        frame = self.decode_request(payload)
        try:
            raw = self._model.predict(frame, params=self._params(payload))
        except MlflowException as exc:
            if exc.error_code != _MLFLOW_SCHEMA_ERROR_CODE:
                raise
            raise RequestSchemaError(
                f"request does not match the model's input schema: {schema_error_message(exc)}"
            ) from exc
        rows = len(frame)
        arrays = {
            c.name: c.conform(values, rows)
            for c, values in zip(
                self._contracts, _split_outputs(raw, self._contracts).values(), strict=True
            )
        }
        rid = request_id(payload)
        if self._log is not None:
            answered = dt.datetime.now(dt.UTC)
            self._log.record(
                PredictionRecord(
                    request_id=rid,
                    model_name=self.name,
                    model_version=self.version or "",
                    timestamp=answered,
                    inputs=frame,
                    outputs=arrays,
                )
            )
            if self._shadow is not None:
                self._start_shadow(frame, rid, answered)
        outputs = [
            ResponseOutput(
                name=c.name,
                datatype=c.datatype,
                shape=list(arrays[c.name].shape),
                data=arrays[c.name].ravel().tolist(),
            )
            for c in requested
        ]
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            id=payload.id,
            outputs=outputs,
            parameters=Parameters(headers={REQUEST_ID_HEADER: rid}),
        )
