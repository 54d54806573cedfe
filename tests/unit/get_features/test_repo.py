"""The feature repo itself: definitions, apply, env overrides, suite.yaml."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from components._feast import (
    DEFAULT_REPO,
    SOURCE_DIR_ENV,
    apply_repo,
    copy_repo,
    load_definitions,
    open_store,
)
from components._suite import load_suite_config
from components.get_features.core import get_training_frame, resolve_feature_service


def test_apply_registers_views_with_their_ttls_and_parquet_sources(repo, store, tiny_sources):
    """Applying the checkout's repo registers what CONVENTIONS.md prescribes.

    Proves: entity ``customer`` on ``customer_id``; ``customer_profile`` (TTL 3650 d) and
    ``customer_activity`` (TTL 30 d) reading parquet (ParquetFormat, which the DuckDB
    store needs) from the directory given at apply time; services churn_v1 and churn_v2;
    a second apply changes nothing. Cannot prove the cluster registry (S3) works.
    """
    from feast.data_format import ParquetFormat

    assert [e.join_key for e in store.list_entities()] == ["customer_id"]
    views = {view.name: view for view in store.list_feature_views()}
    assert views["customer_profile"].ttl == timedelta(days=3650)
    assert views["customer_activity"].ttl == timedelta(days=30)
    for view, file in [("customer_profile", "profiles"), ("customer_activity", "activity")]:
        assert isinstance(views[view].batch_source.file_format, ParquetFormat)
        assert views[view].batch_source.path == str(tiny_sources / f"{file}.parquet")
    assert sorted(s.name for s in store.list_feature_services()) == ["churn_v1", "churn_v2"]
    again = apply_repo(repo, source_dir=str(tiny_sources))
    assert again["repaired"] == []
    assert again["feature_views"] == ["customer_activity", "customer_profile"]


def test_a_registry_made_without_file_format_is_repaired(tmp_path, tiny_sources, case, suite):
    """`apply_repo` fixes a registry whose file sources lack ``file_format``.

    Proves: after a first apply from definitions without ParquetFormat (what an older
    repo registered), applying the current definitions drops and recreates the stale
    sources and views (plain `feast apply` crashes on that diff) and retrieval then
    works. Cannot prove other kinds of stale registry content are repaired.
    """
    repo = copy_repo(tmp_path / "repo")
    definitions = repo / "definitions.py"
    current = definitions.read_text(encoding="utf-8")
    definitions.write_text(current.replace("file_format=ParquetFormat(),", ""), encoding="utf-8")
    assert apply_repo(repo, source_dir=str(tiny_sources))["repaired"] == []
    definitions.write_text(current, encoding="utf-8")
    repaired = apply_repo(repo, source_dir=str(tiny_sources))["repaired"]
    assert sorted(repaired) == [
        "data source activity",
        "data source profiles",
        "feature service churn_v1",
        "feature service churn_v2",
        "feature view customer_activity",
        "feature view customer_profile",
    ]
    frame = get_training_frame(open_store(repo), case.labels, "churn_v1", suite).frame
    assert len(frame) == len(case.labels)


def test_an_unapplied_repo_says_so(tmp_path):
    """A store on a repo that was never applied explains the empty registry.

    Proves the unknown-service error carries the "apply the feature repo first" hint.
    Cannot prove anything about a registry that exists but is out of date.
    """
    store = open_store(copy_repo(tmp_path / "repo"))
    with pytest.raises(ValueError, match=r"known: \[\] \(the registry is empty: apply"):
        resolve_feature_service(store, "churn_v1")


def test_cluster_yaml_is_chosen_by_env_and_filled_from_env(monkeypatch, tmp_path, repo):
    """The cluster config is selected and filled from the environment, file unedited.

    Proves: ``FEAST_FS_YAML_FILE_PATH=feature_store.cluster.yaml`` (relative to the repo,
    not the cwd) selects it; with its variables unset `open_store` names them; with them
    set the store has a Redis online store, the registry path given and the ASOF offline
    store. Cannot prove Redis, S3 or MinIO are reachable or work (none runs here).
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEAST_FS_YAML_FILE_PATH", "feature_store.cluster.yaml")
    monkeypatch.delenv("FEAST_REGISTRY_PATH", raising=False)
    monkeypatch.delenv("FEAST_REDIS_CONNECTION", raising=False)
    with pytest.raises(ValueError, match=r"\['FEAST_REDIS_CONNECTION', 'FEAST_REGISTRY_PATH'\]"):
        open_store(repo)
    monkeypatch.setenv("FEAST_REGISTRY_PATH", str(tmp_path / "cluster-registry.db"))
    monkeypatch.setenv("FEAST_REDIS_CONNECTION", "redis.feast.svc:6379,db=0")
    store = open_store(repo)
    assert store.config.online_store.type == "redis"
    assert store.config.online_store.connection_string == "redis.feast.svc:6379,db=0"
    assert store.config.registry.path == str(tmp_path / "cluster-registry.db")
    assert store.config.offline_store.type == "components._feast_asof.AsofDuckDBOfflineStore"


def test_source_dir_comes_from_the_argument_env_or_repo(monkeypatch, tmp_path):
    """Where the parquet sources live is configurable without editing definitions.py.

    Proves: by default the repo's own data/ (absolute, so a copy points at its own
    data); ``FEAST_SOURCE_DIR`` (an s3:// prefix here) overrides it; an explicit
    ``source_dir`` wins and the environment is restored afterwards. Cannot prove S3
    reads work (no object store here).
    """
    repo = copy_repo(tmp_path / "repo")
    monkeypatch.delenv(SOURCE_DIR_ENV, raising=False)

    def paths(source_dir=None):
        contents = load_definitions(repo, source_dir)
        return sorted(source.path for source in contents.data_sources)

    assert paths() == [str(repo / "data/activity.parquet"), str(repo / "data/profiles.parquet")]
    monkeypatch.setenv(SOURCE_DIR_ENV, "s3://feast/sources/")
    assert paths() == ["s3://feast/sources/activity.parquet", "s3://feast/sources/profiles.parquet"]
    assert paths(str(tmp_path)) == [
        str(tmp_path / "activity.parquet"),
        str(tmp_path / "profiles.parquet"),
    ]
    assert os.environ[SOURCE_DIR_ENV] == "s3://feast/sources/"


def test_suite_yaml_agrees_with_the_definitions(tmp_path):
    """suite.yaml names things that exist in the feature repo.

    Proves: the entity and its join key and the service match definitions.py, the
    slice feature is a String feature of the service, the contract file exists; an
    unknown key and a missing key are refused, naming the key. Cannot prove a user's
    edited repo stays consistent (`pipelines.repo_runs.preflight` checks that at run time).
    """
    suite = load_suite_config(DEFAULT_REPO)
    contents = load_definitions(DEFAULT_REPO)
    assert {e.name: e.join_key for e in contents.entities} == {suite.entity: suite.entity_key}
    services = {s.name: s for s in contents.feature_services}
    assert suite.feature_service in services
    string_features = [
        f.name
        for projection in services[suite.feature_service].feature_view_projections
        for f in projection.features
        if str(f.dtype) == "String"
    ]
    assert set(suite.slice_features) <= set(string_features)
    assert suite.contract_path.is_file()
    assert suite.entity_columns == ["customer_id", "event_timestamp", "churned"]
    assert suite.pipeline_name("training") == "churn-training"
    bad = copy_repo(tmp_path / "repo")
    original = (DEFAULT_REPO / "suite.yaml").read_text()
    (bad / "suite.yaml").write_text(original + "labl: x\n")
    with pytest.raises(ValueError, match=r"unknown \['labl'\]"):
        load_suite_config(bad)
    (bad / "suite.yaml").write_text(original.replace("model_name: churn", "# no model"))
    with pytest.raises(ValueError, match=r"missing 'model_name'"):
        load_suite_config(bad)
