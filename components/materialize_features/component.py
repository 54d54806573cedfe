"""KFP component: incremental materialization into the Feast online store (thin wrapper)."""

from kfp import dsl
from kfp.dsl import Metrics, Output

from components._images import image_for


@dsl.component(base_image=image_for("materialize_features"), install_kfp_package=False)
def materialize_features(
    feature_repo: str,
    end_time: str = "",
    *,
    metrics: Output[Metrics],
):
    """Loads feature rows newer than the last materialization into the online store.

    Args:
        feature_repo: Feature repo directory, already applied.
        end_time: Materialize up to this ISO date/time (naive = UTC); empty = now.
        metrics: Per view ``rows_<view>``, ``first_run_<view>`` and the loaded interval
            ``start_<view>``/``end_<view>`` (Unix seconds); ``rows_total``, ``views``.
    """
    from components._contract import publish
    from components.materialize_features.core import MaterializeConfig, run

    publish(run(MaterializeConfig(feature_repo, end_time)), metrics=metrics)
