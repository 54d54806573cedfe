"""A small, seeded churn model in the CONVENTIONS feature schema.

For tests of the serving code and the prediction-log benchmark
(``bench/prediction_log.py``), which need a registered model without running
the training pipeline: a scikit-learn ``Pipeline``
(imputation, one-hot, scaling, logistic regression) wrapped like the suite's
own models (``PositiveClassModel``: ``predict`` answers P(label) per row)
and logged to MLflow with an input signature and one output named
``<label>_probability``. Not a substitute for ``train_model``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

CATEGORICAL = ("plan", "region", "channel")
NUMERIC = (
    "tenure_months",
    "age",
    "sessions_7d",
    "spend_30d",
    "support_tickets_30d",
    "avg_order_value",
    "days_since_last_login",
)
FEATURES = (*CATEGORICAL, *NUMERIC)
LABEL = "churned"


def demo_frame(rows: int = 1000, seed: int = 0, missing_fraction: float = 0.02) -> pd.DataFrame:
    """Returns a seeded frame of features plus ``customer_id`` and the ``churned`` label.

    A small fraction of ``channel`` and ``days_since_last_login`` values is
    missing, as in real data, so missing-value handling is exercised.

    Args:
        rows: Number of customers.
        seed: Random seed.
        missing_fraction: Share of missing values in the two gappy columns.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows, dtype="int64"),
            "plan": rng.choice(["basic", "standard", "premium"], rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "channel": rng.choice(["web", "mobile", "store", "partner"], rows).astype(object),
            "tenure_months": rng.gamma(2.0, 12.0, rows),
            "age": rng.uniform(18, 80, rows),
            "sessions_7d": rng.poisson(5, rows).astype("float64"),
            "spend_30d": rng.gamma(2.0, 40.0, rows),
            "support_tickets_30d": rng.poisson(0.5, rows).astype("float64"),
            "avg_order_value": rng.gamma(3.0, 15.0, rows),
            "days_since_last_login": rng.exponential(7.0, rows),
        }
    )
    logit = (
        -1.0
        - 0.04 * frame["tenure_months"]
        + 0.6 * frame["support_tickets_30d"]
        + 0.08 * frame["days_since_last_login"]
        - 0.15 * frame["sessions_7d"]
        + 0.5 * (frame["plan"] == "basic")
    )
    frame[LABEL] = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype("int64")
    gaps = rng.uniform(size=(rows, 2)) < missing_fraction
    frame.loc[gaps[:, 0], "channel"] = None
    frame.loc[gaps[:, 1], "days_since_last_login"] = np.nan
    return frame


def log_demo_model(
    client: MlflowClient,
    registered_name: str,
    *,
    seed: int = 0,
    rows: int = 1000,
    c: float = 1.0,
    label: str = LABEL,
) -> ModelVersion:
    """Fits the demo pipeline, logs it to MLflow and registers a new version.

    Args:
        client: MLflow client; fluent logging goes to its tracking URI.
        registered_name: Registered model name (a new version is created).
        seed: Data seed.
        rows: Training rows.
        c: Inverse regularisation strength (different values give
            different models, e.g. a champion and a challenger).
        label: What the model predicts; its output is ``<label>_probability``.

    Returns:
        The new model version.
    """
    import mlflow
    import mlflow.sklearn
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, Schema, TensorSpec
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from components.train_model.estimator import PositiveClassModel

    frame = demo_frame(rows, seed)
    pre = ColumnTransformer(
        [
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                list(CATEGORICAL),
            ),
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), list(NUMERIC)),
        ]
    )
    pipeline = Pipeline([("pre", pre), ("clf", LogisticRegression(C=c, max_iter=500))])
    pipeline.fit(frame[list(FEATURES)], frame[LABEL])
    signature = ModelSignature(
        inputs=Schema(
            [ColSpec(DataType.string, col) for col in CATEGORICAL]
            + [ColSpec(DataType.double, col) for col in NUMERIC]
        ),
        outputs=Schema([TensorSpec(np.dtype("float64"), (-1,), name=f"{label}_probability")]),
    )
    mlflow.set_tracking_uri(client.tracking_uri)
    mlflow.set_registry_uri(client.tracking_uri)
    experiment = client.get_experiment_by_name("serving-demo")
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment("serving-demo")
    )
    with mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.sklearn.log_model(
            PositiveClassModel(pipeline),
            name="model",
            signature=signature,
            input_example=frame[list(FEATURES)].head(5),
            serialization_format="cloudpickle",
        )
    if not client.search_registered_models(filter_string=f"name='{registered_name}'"):
        client.create_registered_model(registered_name)
    return client.create_model_version(
        registered_name, source=info.model_uri, run_id=info.run_id, model_id=info.model_id
    )
