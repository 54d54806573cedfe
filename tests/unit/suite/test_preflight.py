"""`pipelines.repo_runs.preflight`: a bad configuration is refused before anything runs."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from components._version import REPO_ROOT
from examples.lending_club.prepare import load_loans, write_sources
from pipelines.repo_runs import PreflightError, Workspace, preflight, prepare_repo

EXAMPLE = REPO_ROOT / "examples" / "lending_club" / "feature_repo"


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    """The Lending Club repo applied in a workspace, with its sources and labels."""
    root = tmp_path_factory.mktemp("preflight")
    paths = write_sources(load_loans().head(400), root / "sources")
    workspace = Workspace(root / "data")
    store = prepare_repo(workspace, EXAMPLE, root / "sources", "2023-03-01", lambda _: None)
    return workspace, store, paths["labels"], root


def _edit_suite(workspace, old: str, new: str) -> None:
    path = workspace.feature_repo / "suite.yaml"
    path.write_text(path.read_text().replace(old, new))


@pytest.fixture
def workspace(applied):
    workspace, *_ = applied
    original = (workspace.feature_repo / "suite.yaml").read_text()
    yield workspace
    (workspace.feature_repo / "suite.yaml").write_text(original)


def test_the_example_passes(applied):
    """The shipped example passes every check. Cannot prove its data is good."""
    workspace, store, labels, _ = applied
    assert preflight(workspace.feature_repo, labels, store).model_name == "lending_club"


def test_unknown_feature_service_is_named(applied, workspace):
    """A feature service that does not exist is named with the known ones. Cannot prove more."""
    _, store, labels, _ = applied
    _edit_suite(workspace, "feature_service: lending_v1", "feature_service: lending_v9")
    with pytest.raises(PreflightError, match=r"unknown feature service 'lending_v9'.*lending_v1"):
        preflight(workspace.feature_repo, labels, store)


def test_label_not_binary_without_a_mapping_is_refused(applied, workspace):
    """good/bad labels with no positive_label: the error says how to fix it. Cannot prove more."""
    _, store, labels, _ = applied
    _edit_suite(workspace, "positive_label: bad", "")
    with pytest.raises(PreflightError, match=r"'Class' must be binary 0/1.*positive_label"):
        preflight(workspace.feature_repo, labels, store)


def test_label_column_absent_from_the_labels_file_is_named(applied, workspace):
    """suite.yaml names a label the labels file lacks: refused, naming it. Cannot prove more."""
    _, store, labels, _ = applied
    _edit_suite(workspace, "label: Class", "label: default_flag")
    with pytest.raises(PreflightError, match=r"lacks columns \['default_flag'\]"):
        preflight(workspace.feature_repo, labels, store)


def test_contract_naming_columns_the_service_does_not_return_is_refused(applied, workspace):
    """A contract column the service does not return is named. Cannot prove more."""
    _, store, labels, _ = applied
    contract = workspace.feature_repo / "contracts" / "lending_v1.yaml"
    original = contract.read_text()
    contract.write_text(original.replace("  funded_amnt:", "  funded_amount:"))
    try:
        with pytest.raises(PreflightError, match=r"columns \['funded_amount'\]"):
            preflight(workspace.feature_repo, labels, store)
    finally:
        contract.write_text(original)


def test_slice_feature_the_service_does_not_return_is_refused(applied, workspace):
    """slice_features must be returned by the service. Cannot prove the slice is useful."""
    _, store, labels, _ = applied
    _edit_suite(workspace, "slice_features: [term]", "slice_features: [grade]")
    with pytest.raises(PreflightError, match=r"slice_features \['grade'\]"):
        preflight(workspace.feature_repo, labels, store)


def test_three_valued_label_is_refused(applied, workspace, tmp_path):
    """A label with a third value is not binary even with positive_label. Cannot prove more."""
    _, store, labels, _ = applied
    frame = pd.read_parquet(labels)
    frame.loc[0, "Class"] = "unknown"
    bad = tmp_path / "labels.parquet"
    frame.to_parquet(bad)
    with pytest.raises(PreflightError, match="exactly two values"):
        preflight(workspace.feature_repo, bad, store)
    shutil.rmtree(tmp_path)
