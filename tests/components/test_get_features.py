"""get_features through kfp.local (SubprocessRunner, the dev venv) inside a tiny pipeline."""

import pandas as pd
from kfp import dsl, local
from kfp.dsl import Dataset

from components._feast import apply_repo, copy_repo
from components.get_features import core
from components.get_features.component import get_features


@dsl.pipeline(name="get-features-check")
def _features_pipeline(feature_repo: str, labels: str, start: str, end: str) -> Dataset:
    """Parameters only, as a sub-pipeline under dsl.If must be."""
    task = get_features(
        feature_repo=feature_repo,
        feature_service="churn_v1",
        entity_source=labels,
        start=start,
        end=end,
    )
    return task.outputs["features"]


def test_component_writes_the_training_frame_and_its_lineage(tmp_path):
    """The compiled component, run as a KFP task, writes what the core computes.

    Proves: the task runs in a separate process via SubprocessRunner(use_venv=False)
    with the suite image set, imports core inside its body, reads labels by path with a
    window given as pipeline parameters, and its Dataset holds the same parquet frame
    (and fingerprint) as `core.run`, with feature_service, feature_refs,
    row_count and fingerprint in the artifact metadata. Cannot prove the cluster run
    (image, S3 paths, Redis) — nothing of that runs here.
    """
    from churn_data import GeneratorConfig, generate, write_sources

    data = generate(GeneratorConfig(n_customers=300, start="2024-01-01", end="2024-04-01", seed=5))
    write_sources(data, tmp_path / "sources")
    repo = copy_repo(tmp_path / "feature_repo")
    apply_repo(repo, source_dir=str(tmp_path / "sources"))
    labels = str(tmp_path / "sources" / "labels.parquet")

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    run = _features_pipeline(feature_repo=str(repo), labels=labels, start="2024-02-01", end="")

    expected = core.run(core.GetFeaturesConfig(repo, "churn_v1", labels, start="2024-02-01"))
    frame = pd.read_parquet(run.output.path)
    pd.testing.assert_frame_equal(frame, expected.frame)
    assert run.output.metadata["fingerprint"] == expected.fingerprint
    assert run.output.metadata["row_count"] == expected.row_count > 0
    assert run.output.metadata["feature_service"] == "churn_v1"
    assert run.output.metadata["feature_refs"] == list(expected.feature_refs)
