"""The slice and fairness gate: intervals, group differences, and the unfair challenger.

The models here are real MLflow pyfunc models (models from code, logged to the session's
sqlite store) wrapping a real XGBoost model trained on 6,000 synthetic customers: one is
the model with deterministic noise mixed in everywhere (the champion), the other is the
model itself except on one slice, where it answers that noise alone (the unfair
challenger).
"""

from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import mlflow
import numpy as np
import pytest
from sklearn import metrics as skm

from churn_data import GeneratorConfig, generate
from churn_data.schema import TRAIN_ROLES
from components import _mlflow as mlf
from components.evaluate_model import core
from components.register_model import core as registry
from components.train_model import core as train_core

# MLflow asks for type hints on a PythonModel's `predict` when it loads one; the
# fixture's wrapper takes any frame on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:.*Add type hints:UserWarning")

PERTURBED_MODEL = textwrap.dedent(
    '''
    """A wrapper of a suite model that degrades it on purpose (test fixture)."""

    import mlflow
    import numpy as np
    from mlflow.models import set_model
    from mlflow.pyfunc import PythonModel

    from components import _mlflow as mlf


    class Perturbed(PythonModel):
        """Mixes deterministic noise in everywhere, or answers only noise on one slice."""

        def load_context(self, context):
            self.base = mlflow.pyfunc.load_model(context.artifacts["base"])
            self.config = context.model_config

        def predict(self, context, model_input, params=None):
            p = mlf.positive_probability(self.base.predict(model_input))
            key = model_input["customer_id"].to_numpy().astype("int64")
            u = ((key * 2654435761) % 1000) / 1000.0
            if "feature" not in self.config:
                noise = float(self.config["noise"])
                return (1 - noise) * p + noise * u
            members = (model_input[self.config["feature"]] == self.config["value"]).to_numpy()
            return np.where(members, u, p)


    set_model(Perturbed())
    '''
)


def log_perturbed(
    tmp_path: Path, tracking_uri: str, base_uri: str, config: dict
) -> tuple[str, str]:
    """Logs a `Perturbed` model of `base_uri`; returns its model URI and run id."""
    code = tmp_path / "perturbed_model.py"
    code.write_text(PERTURBED_MODEL, encoding="utf-8")
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("slice-gate-fixtures")
    with mlflow.start_run() as run, warnings.catch_warnings():
        # MLflow asks for type hints on `predict`; this fixture takes any frame.
        warnings.filterwarnings("ignore", message=".*Add type hints", category=UserWarning)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(code),
            artifacts={"base": base_uri},
            model_config=config,
        )
    return info.model_uri, run.info.run_id


@pytest.fixture(scope="module")
def large(tracking_uri: str) -> train_core.TrainResult:
    """XGBoost on 6,000 customers: a holdout of ~1,900 rows, ~500-700 per plan."""
    data = generate(GeneratorConfig(n_customers=6000, seed=5))
    frame = data.snapshot.drop(columns=["churn_probability"])
    return train_core.run(
        train_core.TrainJob(frame, train_core.TrainConfig(**TRAIN_ROLES)),
        client=mlf.mlflow_client(tracking_uri),
    )


@pytest.fixture(scope="module")
def unfair_pair(large, tracking_uri: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A half-noise champion, and a challenger that is pure noise on ``plan=basic`` only."""
    tmp = tmp_path_factory.mktemp("perturbed")
    target = "basic"
    return {
        "target": target,
        "champion": log_perturbed(tmp, tracking_uri, large.model_uri, {"noise": 0.5}),
        "challenger": log_perturbed(
            tmp, tracking_uri, large.model_uri, {"feature": "plan", "value": target}
        ),
    }


def test_better_overall_but_worse_on_one_slice_is_not_blessed(
    large, unfair_pair, client, model_name: str
) -> None:
    """A challenger that wins on the whole holdout but loses one slice badly is refused.

    Proves: with a registered champion, the challenger's overall ROC AUC beats the
    champion's (so the overall rule passes), yet the gate does not bless it because the
    per-slice non-inferiority rule fails on exactly the reversed slice (the paired
    bootstrap interval of the difference lies far below the margin) and passes on the
    others; the decision's rule records say which rule failed for which slice; the
    Markdown report shows the FAIL row; the report is JSON-safe.
    Cannot prove the default margin and minimum slice size suit every data set (they are
    policy), nor that a subtler unfairness (a few points of AUC) is caught on small slices.
    """
    version = registry.register(client, model_name, *unfair_pair["champion"]).version
    registry.promote(client, model_name, version)
    gate = core.GateConfig(bootstrap_samples=50)
    result = core.evaluate(
        large.holdout,
        unfair_pair["challenger"][0],
        client,
        model_name,
        gate,
        label_column="churned",
        slice_features=["plan"],
    )
    assert result.challenger.metrics["roc_auc"] > result.champion.metrics["roc_auc"] + 0.01
    assert result.decision.reasons[2].startswith("PASS champion: roc_auc")
    assert not result.blessed
    failed = [r for r in result.decision.rules if not r["passed"]]
    assert failed == [
        {
            "rule": "slice_non_inferiority",
            "passed": False,
            "feature": "plan",
            "slice": unfair_pair["target"],
            "lower_bound": failed[0]["lower_bound"],
            "margin": gate.slice_margin,
        }
    ]
    # Far below the margin: three margins under it (one-sided 95 % bound, the default).
    assert failed[0]["lower_bound"] < -3 * gate.slice_margin
    plan = next(r for r in result.fairness if r["feature"] == "plan")
    others = [s for s in plan["slices"] if s["value"] != unfair_pair["target"]]
    assert others
    assert all(s["rule"] == "PASS" for s in others)
    report = core.render_markdown(result)
    assert "NOT BLESSED" in report
    assert f"FAIL slice non-inferiority plan={unfair_pair['target']}" in report
    json.dumps(result.report(), allow_nan=False)

    fair = core.evaluate(
        large.holdout,
        large.model_uri,
        client,
        model_name,
        gate,
        label_column="churned",
        slice_features=["plan"],
    )
    assert fair.blessed, fair.decision.reasons


def test_slice_intervals_sizes_and_group_differences(good, client, model_name: str) -> None:
    """Slice intervals bracket the point estimate; small slices are reported, not gated.

    Proves: every slice of every slice feature is reported with its row count; the
    bootstrap interval contains the point ROC AUC, which equals scikit-learn's on the
    slice; a slice below `min_slice_rows` is marked not gated and the group differences
    skip it; demographic parity and equalized-odds differences equal fairlearn's own
    functions on the gated rows; a ceiling below the measured value fails the gate and
    names the rule; the same seed gives the same intervals.
    Cannot prove the interval's coverage is the nominal 95 % (the bootstrap is an
    approximation, weakest on small slices).
    """
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    holdout = good.holdout
    counts = holdout["region"].value_counts()
    min_rows = int(counts.iloc[-1]) + 1  # the smallest region slice falls below it
    gate = core.GateConfig(min_slice_rows=min_rows, bootstrap_samples=60)
    result = core.evaluate(
        holdout, good.model_uri, client, model_name, gate,
        label_column="churned", slice_features=["region"],
    )  # fmt: skip
    report = result.fairness[0]
    assert sum(s["rows"] for s in report["slices"]) == len(holdout)
    model = mlflow.pyfunc.load_model(good.model_uri)
    probability = mlf.positive_probability(model.predict(holdout))
    label = holdout["churned"].to_numpy()
    region = holdout["region"].to_numpy()
    for s in report["slices"]:
        members = region == s["value"]
        expected = skm.roc_auc_score(label[members], probability[members])
        assert s["roc_auc"] == pytest.approx(expected)
        low, high = s["roc_auc_ci"]
        assert low <= s["roc_auc"] <= high
        assert s["gated"] == (s["rows"] >= min_rows)
    small = str(counts.index[-1])
    assert small not in report["gated_slices"]
    assert next(s for s in report["slices"] if s["value"] == small)["rule"].startswith("not gated")
    gated = np.isin(region, report["gated_slices"])
    predicted = (probability[gated] >= gate.threshold).astype(int)
    assert report["differences"]["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(label[gated], predicted, sensitive_features=region[gated])
    )
    assert report["differences"]["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(label[gated], predicted, sensitive_features=region[gated])
    )
    assert result.blessed

    dp = report["differences"]["demographic_parity_difference"]
    strict = core.GateConfig(
        min_slice_rows=min_rows, bootstrap_samples=60, max_demographic_parity_difference=dp / 2
    )
    refused = core.evaluate(
        holdout, good.model_uri, client, model_name, strict,
        label_column="churned", slice_features=["region"],
    )  # fmt: skip
    assert not refused.blessed
    assert [r["rule"] for r in refused.decision.rules if not r["passed"]] == ["demographic_parity"]
    assert refused.fairness[0]["slices"] == report["slices"]
