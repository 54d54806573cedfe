"""KFP wrapper of `components.register_model.core` (register, then optionally promote)."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, Input, Markdown, Model, Output

from components._images import image_for


@dsl.component(base_image=image_for("register_model"), install_kfp_package=False)
def register_model(
    model: Input[Model],
    evaluation: Input[Artifact],
    model_card: Output[Markdown],
    model_card_html: Output[HTML],
    registered_model_name: str,
    tracking_uri: str = "",
    promote: bool = True,
    pipeline_run_id: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
) -> str:
    """Registers the blessed model version as `challenger`, optionally promotes it to `champion`.

    Args:
        model: `train_model`'s Model (metadata: model_uri, run_id, model_id, lineage).
        evaluation: `evaluate_model`'s JSON report; must bless this model's run.
        model_card: Markdown model card of the registered version.
        model_card_html: The same card as one self-contained HTML page (also logged with
            the version's run, linked by the version tag ``suite.model_card``).
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

    from components import _mlflow as mlf
    from components._model_card import publish_card
    from components.register_model import core

    report = json.loads(Path(evaluation.path).read_text(encoding="utf-8"))
    run_id = model.metadata["run_id"]
    core.require_blessed(report, run_id)
    client = mlf.mlflow_client(tracking_uri)
    registration = core.register(
        client,
        registered_model_name,
        model.metadata["model_uri"],
        run_id,
        core.lineage_tags(model.metadata, report, pipeline_run_id),
        model.metadata.get("model_id"),
    )
    if promote:
        core.promote(client, registered_model_name, registration.version)
    card = publish_card(client, registered_model_name, registration.version)
    Path(model_card.path).write_text(card.markdown(), encoding="utf-8")
    Path(model_card_html.path).write_text(card.html(), encoding="utf-8")
    lineage = {
        "registered_model_name": registered_model_name,
        "model_uri": registration.version_uri,
        "version": registration.version,
        "promoted": promote,
    }
    model_card.metadata.update(lineage)
    model_card_html.metadata.update(lineage)
    return registration.version_uri
