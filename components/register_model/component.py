"""KFP wrapper of `components.register_model.core` (register, then optionally promote)."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Markdown, Model, Output

from components._images import image_for


@dsl.component(base_image=image_for("register_model"), install_kfp_package=False)
def register_model(
    model: Input[Model],
    evaluation: Input[Artifact],
    registered_model_name: str,
    tracking_uri: str = "",
    promote: bool = True,
    pipeline_run_id: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    *,
    model_card: Output[Markdown],
) -> str:
    """Registers the blessed model version as `challenger`, optionally promotes it to `champion`.

    Args:
        model: `train_model`'s Model (metadata: model_uri, run_id, model_id, lineage).
        evaluation: `evaluate_model`'s JSON report; must bless this model's run.
        model_card: Markdown model card of the registered version.
        tracking_uri: MLflow tracking URI; empty = MLFLOW_TRACKING_URI or ./mlruns sqlite.
        registered_model_name: Registered model name.
        promote: Promote right away (champion -> previous, this -> champion). Set
            False when a deploy step promotes after serving validation.
        pipeline_run_id: KFP run id (lineage tag).

    Returns:
        The registered version as a pinned registry URI, ``models:/<name>/<version>``
        (what validate_serving and deploy_model take as ``model_uri``).
    """
    import json
    from pathlib import Path

    from components._contract import publish
    from components.register_model.core import RegisterConfig, run

    config = RegisterConfig(
        registered_model_name, dict(model.metadata),
        json.loads(Path(evaluation.path).read_text(encoding="utf-8")),
        promote=promote, pipeline_run_id=pipeline_run_id, tracking_uri=tracking_uri,
    )  # fmt: skip
    result = run(config)
    publish(result, metadata=[model_card], markdown=model_card)
    return result.return_value()
