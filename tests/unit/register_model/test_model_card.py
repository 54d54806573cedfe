"""The model card of a registered version (`components._model_card`), on a real registry."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import mlflow.pyfunc
from sklearn.metrics import brier_score_loss, roc_auc_score

from components import _governance as gov
from components import _mlflow as mlf
from components._model_card import build_card, publish_card
from components.register_model import core
from pipelines.cli import main


class _Assets(HTMLParser):
    """Collects every attribute of the page that could load something from elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.links += [v for k, v in attrs if k in ("src", "href", "srcset") and v]


def test_card_shows_recorded_facts_and_its_alias_history(
    client, model_name: str, runs, evaluations, tmp_path
) -> None:
    """A registered, approved, promoted version's card holds every section with true numbers.

    Proves: the card's holdout ROC AUC and Brier equal sklearn's on the run's holdout
    scored by the registered model (independent of the evaluation code), the ROC AUC
    interval brackets it, every slice of the evaluation appears with its row count and
    they sum to the holdout, every gate rule appears, the drift reference's row count,
    the window / contract / lock / fingerprint lineage the training run recorded, and
    the alias history (challenger set, approval, champion set) in order. The HTML is one
    page with inline CSS and no script, stylesheet, image or link to anything; the card
    is logged with the run and the version tag names it; a re-published card after a
    later alias move shows the move, and `python -m pipelines model-card --out` writes it.
    Cannot prove how the page looks (no browser here) or that a version registered by
    older suite code (no evaluation artifact) gets more than "not recorded".
    """
    run, evaluation = runs[0], evaluations[0]
    client.log_dict(run.run_id, evaluation, mlf.EVALUATION_ARTIFACT)
    tags = core.lineage_tags(run.metadata(), evaluation, "kfp-card-run")
    version = core.register(client, model_name, run.model_uri, run.run_id, tags).version
    gov.approve(client, model_name, version, "slices checked", who="auditor")
    core.promote(client, model_name, version, require_approval=True, why="approved")

    card = publish_card(client, model_name, version)
    markdown, page = card.markdown(), card.html()
    assert [s.title for s in card.sections] == [
        "Version", "Intended use and data", "Holdout metrics", "Calibration",
        "Slices and fairness", "Gate decision", "Drift reference shipped with the model",
        "Lineage and training parameters", "Approval and alias history", "Limitations",
    ]  # fmt: skip

    holdout = run.holdout
    label = holdout["churned"].to_numpy()
    served = mlflow.pyfunc.load_model(f"models:/{model_name}/{version}")
    probability = mlf.positive_probability(served.predict(holdout))
    metrics = {r[0]: r for r in card.section("Holdout metrics").tables[0].rows}
    assert float(metrics["roc_auc"][1]) == round(roc_auc_score(label, probability), 4)
    assert float(metrics["brier"][1]) == round(brier_score_loss(label, probability), 4)
    low, high = map(float, re.findall(r"[\d.]+", metrics["roc_auc"][2]))
    assert low <= float(metrics["roc_auc"][1]) <= high
    assert low < high

    slices = card.section("Slices and fairness").tables[0]
    assert slices.title == "By plan"
    assert sum(int(r[1]) for r in slices.rows) == len(holdout)
    assert {r[0] for r in slices.rows} == set(holdout["plan"].dropna().astype(str))
    gate_rows = card.section("Gate decision").tables[0].rows
    assert len(gate_rows) == len(evaluation["decision"]["rules"])
    assert "Verdict: BLESSED" in markdown

    drift = dict(card.section("Drift reference shipped with the model").tables[0].rows)
    # The reference keeps the latest holdout row of each entity (at most 5000 rows).
    assert drift["n_reference_rows"] == str(min(holdout["customer_id"].nunique(), 5000))
    data = dict(card.section("Intended use and data").tables[0].rows)
    assert data["data fingerprint (whole frame)"] == f"`{run.data_fingerprint}`"
    assert data["training rows"] == str(run.train_rows)
    assert data["holdout from (label time)"] == run.holdout_start
    lineage = dict(card.section("Lineage and training parameters").tables[0].rows)
    assert lineage["dependency lock (sha256 of requirements.txt)"].startswith("`sha256:")
    assert lineage["pipeline run"] == "kfp-card-run"

    history = card.section("Approval and alias history").tables[0].rows
    actions = [(r[2], r[3]) for r in history]
    assert actions == [("set_alias", "challenger"), ("approve", ""), ("set_alias", "champion"),
                       ("remove_alias", "challenger")]  # fmt: skip
    assert history[1][1] == "auditor"
    assert history[1][5] == "slices checked"

    parser = _Assets()
    parser.feed(page)
    assert parser.links == []
    assert not parser.tags & {"script", "link", "img", "iframe", "object"}
    assert "<style>" in page
    assert "champion" in page

    logged = client.get_model_version(model_name, version).tags[mlf.TAG_MODEL_CARD]
    assert logged == f"runs:/{run.run_id}/{mlf.MODEL_CARD_DIR}/v{version}.html"
    artifact = mlflow.artifacts.load_text(logged)
    assert artifact == page

    other = core.register(client, model_name, runs[1].model_uri, runs[1].run_id).version
    core.promote(client, model_name, other)
    again = build_card(client, model_name, version)
    moved = [(r[2], r[3]) for r in again.section("Approval and alias history").tables[0].rows]
    assert moved[-1] == ("set_alias", "previous")
    assert "Aliases on this version: `previous`" in again.markdown()

    out = tmp_path / "card.html"
    command = ["model-card", "--model", model_name, "--version", version, "--out", str(out)]
    assert main([*command, "--tracking-uri", client.tracking_uri]) == 0
    assert out.read_text(encoding="utf-8") == again.html()


def test_card_of_a_version_without_records_says_so(client, model_name: str, runs) -> None:
    """A version registered with no evaluation report states what is missing.

    Proves: the card still builds, each section that needs the evaluation says "not
    recorded", and no number is invented for it (no interval column).
    Cannot prove anything about partially written reports.
    """
    run = runs[1]
    version = core.register(client, model_name, run.model_uri, run.run_id).version
    card = build_card(client, model_name, version)
    text = card.markdown()
    assert "Evaluation report not recorded" in text
    assert "Gate decision not recorded." in text
    assert "Slice results not recorded." in text
    assert not card.section("Calibration").tables
    assert card.version == version
