"""KFP component: point-in-time correct training frame from Feast (thin wrapper)."""

from kfp import dsl
from kfp.dsl import Dataset, Output

from components._images import image_for


@dsl.component(base_image=image_for("get_features"), install_kfp_package=False)
def get_features(
    feature_repo: str,
    feature_service: str,
    entity_source: str,
    start: str = "",
    end: str = "",
    *,
    features: Output[Dataset],
):
    """Joins the labels in a time window with their features as of label time.

    Every label row comes back (the task fails otherwise), with the columns of
    CONVENTIONS.md's training frame, sorted by (entity key, timestamp, label).

    Args:
        feature_repo: Feature repo directory, already applied (its registry is read).
        feature_service: Feast feature service, e.g. ``my_features_v1``; empty means
            suite.yaml's default.
        entity_source: Labels parquet (path or s3:// URI): entity key, timestamp, label.
        start: Window start on the label timestamp, inclusive (ISO); empty = unbounded.
        end: Window end, exclusive (ISO); empty = unbounded.
        features: The training frame (parquet); metadata carries feature_service,
            feature_refs, row_count and fingerprint.
    """
    from components._contract import publish
    from components.get_features.core import GetFeaturesConfig, run

    result = run(GetFeaturesConfig(feature_repo, feature_service, entity_source, start, end))
    publish(result, metadata=[features], frames={features: result.frame})
