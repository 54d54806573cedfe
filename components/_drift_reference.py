"""The drift reference: what "no drift" looks like for one trained model.

`build_reference` is called once, right after training, with the holdout
features and the model's scores on them. It writes a directory:

```
manifest.json              columns, vocabularies, sizes, seed, versions, holdout ROC AUC
psi_bins.json              PSI bin edges per numeric feature and for the score
reference_features.parquet the bounded, seeded reference sample (raw values)
reference_scores.parquet   the model's scores on that sample (column ``score``)
tabular_detector/          alibi-detect TabularDrift (KS numeric, Chi2 categorical)
classifier_detector/       alibi-detect ClassifierDrift, sklearn backend (domain classifier)
```

`log_reference` logs that directory as artifacts of the model's MLflow run
(under ``drift_reference``) and `load_reference` brings it back from a run id
or any model URI (``models:/<name>@champion``, ``models:/<name>/3``,
``runs:/<id>/model``, ``models:/m-<id>``).

Encoding (shared by the detectors and `check_drift`): features are ordered
categorical first, then numeric. A categorical value becomes its index in the
vocabulary (sorted distinct non-null values of the *whole* frame given to
`build_reference`), a null becomes ``len(vocab)`` and a value never seen in
training becomes ``len(vocab) + 1`` (the "unseen" code). Numeric nulls stay
NaN for the domain classifier and become ``-inf`` for the KS tests, so the
null share is compared as an atom below every observed value: a missingness
surge is a distribution change the KS test sees.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REFERENCE_ARTIFACT_PATH = "drift_reference"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
PSI_BINS_FILE = "psi_bins.json"
FEATURES_FILE = "reference_features.parquet"
SCORES_FILE = "reference_scores.parquet"
TABULAR_DIR = "tabular_detector"
CLASSIFIER_DIR = "classifier_detector"
SCORE_COLUMN = "score"
DEFAULT_SAMPLE_SIZE = 5000
DEFAULT_PSI_BINS = 10
NULL_LABEL = "<null>"
UNSEEN_LABEL = "<unseen>"


def quantile_edges(values: np.ndarray, n_bins: int) -> list[float]:
    """Returns the inner PSI bin edges: distinct quantiles of the non-null values.

    Bins are right-closed: ``(-inf, e0], (e0, e1], ..., (e_last, inf)``. Ties
    (a discrete or constant feature) merge quantiles, so there can be fewer
    than ``n_bins`` bins; an all-null column has no edges (one value bin).
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    inner = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    return [float(e) for e in np.unique(np.quantile(finite, inner))]


@dataclass
class DriftReference:
    """A loaded drift reference.

    Attributes:
        path: Local directory the reference was read from.
        manifest: The parsed ``manifest.json``.
        features: Reference sample, raw values, one column per feature.
        scores: The model's scores on `features`, row-aligned.
        psi_edges: Inner PSI bin edges per numeric feature (see `quantile_edges`).
        score_edges: Inner PSI bin edges of the score.
        tabular_detector: alibi-detect ``TabularDrift`` fitted on the encoded sample.
        classifier_detector: alibi-detect ``ClassifierDrift`` (sklearn backend).
        run_id: MLflow run the reference was loaded from, if any.
    """

    path: Path
    manifest: dict[str, Any]
    features: pd.DataFrame
    scores: np.ndarray
    psi_edges: dict[str, list[float]]
    score_edges: list[float]
    tabular_detector: Any
    classifier_detector: Any
    run_id: str | None = None
    _vocab_index: dict[str, dict[str, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._vocab_index = {
            col: {v: i for i, v in enumerate(vocab)}
            for col, vocab in self.manifest["vocabulary"].items()
        }

    @property
    def categorical_columns(self) -> list[str]:
        """Categorical feature names, in encoding order."""
        return list(self.manifest["categorical_columns"])

    @property
    def numeric_columns(self) -> list[str]:
        """Numeric feature names, in encoding order."""
        return list(self.manifest["numeric_columns"])

    @property
    def feature_columns(self) -> list[str]:
        """All feature names in encoding order (categorical first)."""
        return self.categorical_columns + self.numeric_columns

    @property
    def holdout_roc_auc(self) -> float | None:
        """The model's holdout ROC AUC recorded at build time, if labels were given."""
        return self.manifest.get("holdout_roc_auc")

    def vocabulary(self, column: str) -> list[str]:
        """Training vocabulary of a categorical column (code = list index)."""
        return list(self.manifest["vocabulary"][column])

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Encodes a frame with the reference's encoding (numeric nulls stay NaN)."""
        return encode_features(
            frame, self.categorical_columns, self.numeric_columns, self._vocab_index
        )


def _categorical_strings(series: pd.Series) -> pd.Series:
    """Returns the column's non-null values as strings (nulls stay null)."""
    return series.astype(object).map(str, na_action="ignore")


def numeric_values(series: pd.Series) -> np.ndarray:
    """Returns a numeric column as float64 with NaN for nulls.

    Raises:
        ValueError: If the column holds values that are not numbers.
    """
    try:
        return pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"numeric feature {series.name!r} has non-numeric values (dtype {series.dtype}): {err}"
        ) from err


def encode_features(
    frame: pd.DataFrame,
    categorical_columns: Sequence[str],
    numeric_columns: Sequence[str],
    vocab_index: dict[str, dict[str, int]],
) -> np.ndarray:
    """Encodes features to a float matrix (see the module docstring for the codes)."""
    cols: list[np.ndarray] = []
    for col in categorical_columns:
        index = vocab_index[col]
        values = _categorical_strings(frame[col])
        known = values.map(index).to_numpy(dtype=float)  # NaN for nulls and unseen values
        unseen_or_known = np.where(np.isnan(known), len(index) + 1, known)
        cols.append(np.where(values.isna().to_numpy(), len(index), unseen_or_known))
    cols.extend(numeric_values(frame[col]) for col in numeric_columns)
    return np.column_stack(cols) if cols else np.empty((len(frame), 0))


def latest_row_per_entity(
    frame: pd.DataFrame,
    entity_column: str = "",
    timestamp_column: str = "",
) -> np.ndarray:
    """Returns the sorted positions of one row per entity: its latest by timestamp.

    Rows of one entity are repeated measurements, not independent draws. The KS
    and Chi2 tests assume independent rows; with about two rows per entity in a
    window they raise false alarms ten times more often than alpha (bench/drift.py:
    55 of 100 no-drift windows of 1,000 rows flagged at alpha 0.05, 3 of 100 with
    one row per entity). Ties and frames without `timestamp_column` keep
    the last occurrence; without `entity_column` (or with "") every row is kept.
    """
    if not entity_column or entity_column not in frame.columns:
        return np.arange(len(frame))
    keys = frame[[c for c in (entity_column, timestamp_column) if c in frame.columns]]
    keys = keys.reset_index(drop=True)
    if timestamp_column in keys.columns and timestamp_column != entity_column:
        keys = keys.sort_values(timestamp_column, kind="stable")
    return np.sort(keys.drop_duplicates(entity_column, keep="last").index.to_numpy())


def nulls_as_lowest(encoded: np.ndarray) -> np.ndarray:
    """Returns the matrix with NaN replaced by ``-inf`` (the KS tests' null atom)."""
    return np.where(np.isnan(encoded), -np.inf, encoded)


def domain_classifier(seed: int) -> Any:
    """Returns the small seeded sklearn model the multivariate check trains.

    A shallow random forest: it handles NaN natively, needs no scaling, and its
    impurity importances say which features separate reference from window.
    """
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=50, max_depth=6, min_samples_leaf=5, random_state=seed, n_jobs=1
    )


def _validate_columns(
    features_df: pd.DataFrame, categorical_columns: Sequence[str], numeric_columns: Sequence[str]
) -> None:
    overlap = sorted(set(categorical_columns) & set(numeric_columns))
    if overlap:
        raise ValueError(f"columns listed as both categorical and numeric: {overlap}")
    if not list(categorical_columns) + list(numeric_columns):
        raise ValueError("build_reference needs at least one categorical or numeric column")
    missing = [c for c in [*categorical_columns, *numeric_columns] if c not in features_df.columns]
    if missing:
        raise ValueError(f"features_df is missing reference columns {missing}")


def build_reference(
    features_df: pd.DataFrame,
    scores: Any,
    categorical_columns: Sequence[str],
    numeric_columns: Sequence[str],
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    seed: int = 0,
    out_dir: str | Path | None = None,
    *,
    labels: Any = None,
    n_psi_bins: int = DEFAULT_PSI_BINS,
    entity_column: str = "",
    timestamp_column: str = "",
) -> Path:
    """Builds the drift reference directory for one model.

    Call it with the *holdout* (validation/test) features and the model's
    scores on them, not the training rows: scores on rows the model was fit on
    are sharper than on new data and would read as prediction drift.

    Args:
        features_df: Holdout frame; extra columns (ids, timestamps, label) are ignored.
        scores: The model's positive-class probability per row of `features_df` (what
            ``model.predict`` answers; a two-column ``predict_proba`` output works too).
        categorical_columns: Categorical feature columns.
        numeric_columns: Numeric features.
        sample_size: Upper bound on reference rows; larger frames are sampled
            without replacement with `seed`, from one row per entity (see
            `latest_row_per_entity`), as check_drift does with the window.
        seed: Seed of the sample and of the domain classifier.
        out_dir: Directory to write (created); a new temporary directory if None.
        labels: Optional 0/1 labels aligned with `features_df`; when given (and
            both classes occur) the holdout ROC AUC is stored in the manifest
            for the performance check.
        n_psi_bins: Number of quantile bins for PSI.
        entity_column: Entity key; "" keeps every row.
        timestamp_column: Orders an entity's rows (its latest is kept).

    Returns:
        The directory written, ready for `log_reference`.

    Raises:
        ValueError: On missing/overlapping columns, misaligned scores or labels,
            an empty frame, or a non-positive `sample_size`.
    """
    from alibi_detect.cd import ClassifierDrift, TabularDrift
    from alibi_detect.saving import save_detector
    from alibi_detect.version import __version__ as alibi_version
    from sklearn.metrics import roc_auc_score

    from components._mlflow import positive_probability
    from components._version import suite_version

    _validate_columns(features_df, categorical_columns, numeric_columns)
    if len(features_df) == 0:
        raise ValueError("features_df is empty: a drift reference needs rows")
    if sample_size <= 0:
        raise ValueError(f"sample_size must be positive, got {sample_size}")
    all_scores = positive_probability(scores)
    if len(all_scores) != len(features_df):
        raise ValueError(
            f"scores has {len(all_scores)} values but features_df has {len(features_df)} rows"
        )
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="drift_ref_"))
    out.mkdir(parents=True, exist_ok=True)

    holdout_auc = label_rate = None
    if labels is not None:
        y = np.asarray(labels, dtype=float)
        if len(y) != len(features_df):
            raise ValueError(f"labels has {len(y)} values but features_df has {len(features_df)}")
        keep = ~np.isnan(y)
        label_rate = float(y[keep].mean()) if keep.any() else None
        if len(np.unique(y[keep])) == 2:
            holdout_auc = float(roc_auc_score(y[keep], all_scores[keep]))

    rng = np.random.default_rng(seed)
    candidates = latest_row_per_entity(features_df, entity_column, timestamp_column)
    n_ref = min(sample_size, len(candidates))
    rows = np.sort(rng.choice(candidates, size=n_ref, replace=False))
    cat_cols, num_cols = list(categorical_columns), list(numeric_columns)
    sample = features_df.iloc[rows][cat_cols + num_cols].reset_index(drop=True)
    sample_scores = all_scores[rows]

    vocabulary = {
        col: sorted(_categorical_strings(features_df[col]).dropna().unique().tolist())
        for col in cat_cols
    }
    vocab_index = {col: {v: i for i, v in enumerate(vocab)} for col, vocab in vocabulary.items()}
    encoded = encode_features(sample, cat_cols, num_cols, vocab_index)

    tabular = TabularDrift(
        nulls_as_lowest(encoded),
        p_val=0.05,
        categories_per_feature={i: None for i in range(len(cat_cols))},
        correction="bonferroni",
    )
    save_detector(tabular, out / TABULAR_DIR)
    classifier = ClassifierDrift(
        encoded, model=domain_classifier(seed), backend="sklearn", p_val=0.05, n_folds=3, seed=seed
    )
    save_detector(classifier, out / CLASSIFIER_DIR)

    sample.to_parquet(out / FEATURES_FILE, index=False)
    pd.DataFrame({SCORE_COLUMN: sample_scores}).to_parquet(out / SCORES_FILE, index=False)
    psi_bins = {
        "n_bins": n_psi_bins,
        "features": {
            col: quantile_edges(numeric_values(sample[col]), n_psi_bins) for col in num_cols
        },
        SCORE_COLUMN: quantile_edges(sample_scores, n_psi_bins),
    }
    (out / PSI_BINS_FILE).write_text(json.dumps(psi_bins, indent=2), encoding="utf-8")
    manifest = {
        "format_version": FORMAT_VERSION,
        "categorical_columns": cat_cols,
        "numeric_columns": num_cols,
        "vocabulary": vocabulary,
        "n_source_rows": len(features_df),
        "n_source_entities": len(candidates),
        "entity_column": entity_column if entity_column in features_df.columns else None,
        "n_reference_rows": n_ref,
        "sample_size": sample_size,
        "seed": seed,
        "holdout_roc_auc": holdout_auc,
        "holdout_label_rate": label_rate,
        "reference_score_mean": float(np.mean(sample_scores)),
        "suite_version": suite_version(),
        "alibi_detect_version": alibi_version,
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


def load_reference_dir(path: str | Path, run_id: str | None = None) -> DriftReference:
    """Loads a reference directory written by `build_reference`.

    Raises:
        FileNotFoundError: If the directory has no manifest.
        ValueError: If the manifest format is newer than this code understands.
    """
    from alibi_detect.saving import load_detector

    root = Path(path)
    manifest_path = root / MANIFEST_FILE
    if not manifest_path.is_file():
        raise FileNotFoundError(f"no drift reference at {root}: {MANIFEST_FILE} is missing")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"drift reference format {manifest.get('format_version')} at {root} is not "
            f"supported (expected {FORMAT_VERSION}); rebuild it with build_reference"
        )
    psi_bins = json.loads((root / PSI_BINS_FILE).read_text(encoding="utf-8"))
    return DriftReference(
        path=root,
        manifest=manifest,
        features=pd.read_parquet(root / FEATURES_FILE),
        scores=pd.read_parquet(root / SCORES_FILE)[SCORE_COLUMN].to_numpy(dtype=float),
        psi_edges={k: list(v) for k, v in psi_bins["features"].items()},
        score_edges=list(psi_bins[SCORE_COLUMN]),
        tabular_detector=load_detector(root / TABULAR_DIR),
        classifier_detector=load_detector(root / CLASSIFIER_DIR),
        run_id=run_id,
    )


def log_reference(run_id: str, out_dir: str | Path, client: Any = None) -> str:
    """Logs a reference directory as artifacts of an MLflow run.

    Args:
        run_id: The model's training run (the one whose model gets registered).
        out_dir: Directory returned by `build_reference`.
        client: ``mlflow.MlflowClient``; a default client (current tracking URI) if None.

    Returns:
        The artifact URI, ``runs:/<run_id>/drift_reference``.

    Raises:
        FileNotFoundError: If `out_dir` is not a reference directory.
    """
    from mlflow import MlflowClient

    if not (Path(out_dir) / MANIFEST_FILE).is_file():
        raise FileNotFoundError(f"{out_dir} is not a drift reference (no {MANIFEST_FILE})")
    client = client or MlflowClient()
    client.log_artifacts(run_id, str(out_dir), artifact_path=REFERENCE_ARTIFACT_PATH)
    return f"runs:/{run_id}/{REFERENCE_ARTIFACT_PATH}"


def client_uris(client: Any) -> dict[str, str]:
    """Returns the tracking and registry URIs of an ``MlflowClient`` as download kwargs."""
    return {
        "tracking_uri": client.tracking_uri,
        # MlflowClient has no public getter for its registry URI.
        "registry_uri": getattr(client, "_registry_uri", None) or client.tracking_uri,
    }


def run_id_of(model_uri_or_run_id: str, client: Any) -> str:
    """Returns the MLflow run id behind a run id or a model URI.

    A string without ``:/`` is taken as a run id. For a model URI, the
    ``MLmodel`` file alone is downloaded and its ``run_id`` read, which works
    for every URI form MLflow resolves (aliases, versions, logged-model ids).

    Raises:
        ValueError: If the model was logged outside a run.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    if ":/" not in model_uri_or_run_id:
        return model_uri_or_run_id
    uris = client_uris(client)
    with tempfile.TemporaryDirectory(prefix="mlmodel_") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{model_uri_or_run_id.rstrip('/')}/MLmodel", dst_path=tmp, **uris
            )
        except MlflowException:
            # Logged-model ids (models:/m-...) take no sub-path: fetch the model directory.
            model_dir = mlflow.artifacts.download_artifacts(
                artifact_uri=model_uri_or_run_id, dst_path=tmp, **uris
            )
            local = str(Path(model_dir) / "MLmodel")
        run_id = Model.load(local).run_id
    if not run_id:
        raise ValueError(f"model {model_uri_or_run_id} has no source run to hold a drift reference")
    return run_id


def load_reference(
    model_uri_or_run_id: str, client: Any = None, dst_dir: str | Path | None = None
) -> DriftReference:
    """Downloads and loads the drift reference logged with a model.

    Args:
        model_uri_or_run_id: A run id, or a model URI such as ``models:/<name>@champion``.
        client: ``mlflow.MlflowClient``; a default client if None.
        dst_dir: Where to download; a new temporary directory if None.

    Raises:
        FileNotFoundError: If the run has no ``drift_reference`` artifacts.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = client or MlflowClient()
    run_id = run_id_of(model_uri_or_run_id, client)
    dst = Path(dst_dir) if dst_dir is not None else Path(tempfile.mkdtemp(prefix="drift_ref_"))
    dst.mkdir(parents=True, exist_ok=True)
    missing = (
        f"run {run_id} ({model_uri_or_run_id}) has no {REFERENCE_ARTIFACT_PATH}/{MANIFEST_FILE} "
        "artifact; the training step must call build_reference + log_reference"
    )
    try:
        local = client.download_artifacts(run_id, REFERENCE_ARTIFACT_PATH, str(dst))
    except (MlflowException, OSError) as err:
        raise FileNotFoundError(missing) from err
    if not (Path(local) / MANIFEST_FILE).is_file():
        raise FileNotFoundError(missing)
    return load_reference_dir(local, run_id=run_id)
