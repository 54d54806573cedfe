"""`components._suite`: the one parser of suite.yaml, feature roles and the binary label."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from components._suite import (
    SuiteConfigError,
    binary_label,
    feature_roles,
    load_suite_config,
)

MINIMAL = {
    "entity": "loan",
    "entity_key": "loan_id",
    "timestamp": "decided_at",
    "label": "Class",
    "feature_service": "lending_v1",
    "contract": "contracts/lending_v1.yaml",
    "model_name": "lending",
}


def _write(tmp_path, values) -> None:
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(values))


def test_minimal_suite_yaml_fills_the_derived_names(tmp_path):
    """Optional keys default from the required ones.

    Proves: pipeline prefix and experiment default to the model name, no slices, no
    positive-label mapping, the contract path is relative to the repo. Cannot prove
    the names exist in the Feast repo (`pipelines.repo_runs.preflight` checks that).
    """
    _write(tmp_path, MINIMAL)
    suite = load_suite_config(tmp_path)
    assert suite.pipeline_name("training") == "lending-training"
    assert suite.experiment_name == "lending"
    assert suite.slice_features == ()
    assert suite.positive_label is None
    assert suite.contract_path == tmp_path / "contracts" / "lending_v1.yaml"
    assert suite.entity_columns == ["loan_id", "decided_at", "Class"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": None}, r"missing 'label' \(target column"),
        ({"model_name": ""}, r"missing 'model_name'"),
        ({"lable": "x"}, r"unknown \['lable'\]"),
        ({"slice_features": "term"}, r"slice_features must be a list"),
    ],
)
def test_bad_suite_yaml_is_refused_naming_the_key(tmp_path, change, message):
    """A missing, empty, misspelt or mistyped key is an error that names it.

    Proves: the error text names the key and what it is for. Cannot prove every
    misspelling is caught (only unknown top-level keys are).
    """
    values = {**MINIMAL, **change}
    _write(tmp_path, {k: v for k, v in values.items() if v is not None})
    with pytest.raises(SuiteConfigError, match=message):
        load_suite_config(tmp_path)


def test_missing_suite_yaml_says_what_it_needs(tmp_path):
    """No suite.yaml: the error lists the required keys. Cannot prove more."""
    with pytest.raises(FileNotFoundError, match="entity_key"):
        load_suite_config(tmp_path)


def test_feature_roles_follow_the_frame_types_and_overrides():
    """Strings and booleans are categorical, numbers numeric, overrides win.

    Proves: the split uses the dtypes Feast gives the service's features, and a
    numeric column named in categorical_features becomes categorical; entity,
    timestamp and label are never features. Cannot prove the overrides are wise.
    """
    frame = pd.DataFrame(
        {
            "loan_id": [1, 2],
            "decided_at": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
            "Class": [0, 1],
            "term": ["36", "60"],
            "is_joint": [True, False],
            "grade_code": [3, 4],
            "int_rate": [0.1, 0.2],
        }
    )
    roles = feature_roles(
        frame.dtypes.to_dict(), ["loan_id", "decided_at", "Class"], ["grade_code"]
    )
    assert roles.categorical == ("term", "is_joint", "grade_code")
    assert roles.numeric == ("int_rate",)
    with pytest.raises(ValueError, match=r"categorical_features \['nope'\]"):
        feature_roles(frame.dtypes.to_dict(), ["loan_id", "decided_at", "Class"], ["nope"])
    with pytest.raises(ValueError, match="are timestamps"):
        feature_roles(frame.dtypes.to_dict(), ["loan_id", "Class"])


def test_binary_label_maps_the_positive_class_and_refuses_the_rest(tmp_path):
    """The label becomes int64 0/1; anything else is refused naming the values.

    Proves: ``positive_label: bad`` maps bad -> 1, good -> 0; a good/bad label without
    the mapping, a three-valued label and missing values are errors that name the
    label and say how to fix it. Cannot prove the mapping chosen is the intended one.
    """
    _write(tmp_path, {**MINIMAL, "positive_label": "bad"})
    mapped = load_suite_config(tmp_path)
    _write(tmp_path, MINIMAL)
    plain = load_suite_config(tmp_path)
    good_bad = pd.Series(["good", "bad", "good"])
    assert binary_label(good_bad, mapped).tolist() == [0, 1, 0]
    assert str(binary_label(good_bad, mapped).dtype) == "int64"
    assert binary_label(pd.Series([0, 1, 1]), plain).tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match=r"'Class' must be binary 0/1.*positive_label"):
        binary_label(good_bad, plain)
    with pytest.raises(ValueError, match="exactly two values"):
        binary_label(pd.Series(["good", "bad", "unknown"]), mapped)
    with pytest.raises(ValueError, match="1 missing values"):
        binary_label(pd.Series([0, None, 1]), plain)
