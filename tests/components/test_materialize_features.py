"""materialize_features through kfp.local (SubprocessRunner, the dev venv)."""

import pandas as pd
from kfp import local

from components._feast import apply_repo, copy_repo, open_store
from components.materialize_features.component import materialize_features


def test_component_fills_the_online_store_and_logs_metrics(tmp_path):
    """The compiled component, run as a KFP task, materializes and reports what it did.

    Proves: run directly (it takes parameters only) in a separate process, it loads the
    generated sources up to end_time into the sqlite online store — afterwards every
    customer's online activity equals its latest activity row within 30 days of
    end_time — and its Metrics artifact counts the rows per view. Cannot prove Redis or
    the cluster registry.
    """
    from churn_data import GeneratorConfig, generate, write_sources

    data = generate(GeneratorConfig(n_customers=200, start="2024-01-01", end="2024-03-01", seed=3))
    write_sources(data, tmp_path / "sources")
    repo = copy_repo(tmp_path / "feature_repo")
    apply_repo(repo, source_dir=str(tmp_path / "sources"))
    end = pd.Timestamp("2024-03-01", tz="UTC")

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    task = materialize_features(feature_repo=str(repo), end_time=end.isoformat())
    metrics = task.outputs["metrics"].metadata

    activity = data.activity[
        data.activity["event_timestamp"].between(end - pd.Timedelta(days=30), end)
    ]
    latest = activity.sort_values("event_timestamp").groupby("customer_id").last()
    assert metrics["rows_customer_activity"] == len(latest) > 0
    assert metrics["first_run_customer_activity"] == 1.0
    assert metrics["end_customer_activity"] == end.timestamp()
    assert (
        metrics["rows_total"]
        == metrics["rows_customer_activity"] + metrics["rows_customer_profile"]
    )

    store = open_store(repo)
    online = store.get_online_features(
        features=["customer_activity:sessions_7d", "customer_activity:spend_30d"],
        entity_rows=[{"customer_id": int(c)} for c in latest.index],
    ).to_df()
    got = online.set_index("customer_id").sort_index()[["sessions_7d", "spend_30d"]]
    pd.testing.assert_frame_equal(got, latest[["sessions_7d", "spend_30d"]], check_names=False)
