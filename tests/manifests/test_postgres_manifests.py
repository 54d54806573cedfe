"""MLflow on PostgreSQL in manifests/suite: the wiring the real-server tests rely on.

These check the rendered objects (`kubectl kustomize`, offline), not a running cluster:
that MLflow's backend is PostgreSQL with every credential from the generated Secret,
that migrations run before the server starts, and that readiness asks the database,
with the same probe path the PostgreSQL-backed test server is gated on
(tests/registry_concurrency/conftest.py). They cannot prove the pods start on a cluster.
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READY_PATH = "/api/2.0/mlflow/registered-models/search?max_results=1"
PG_KEYS = {
    "PGUSER": "POSTGRES_USER",
    "PGPASSWORD": "POSTGRES_PASSWORD",
    "PGDATABASE": "POSTGRES_DB",
}


def _by_name(objects) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def _secret_env(container: dict) -> dict[str, tuple[str, str]]:
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container.get("env", [])
        if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    }


def test_mlflow_runs_on_postgres_with_credentials_from_the_secret(suite_objects):
    """Proves: backend ``postgresql://``, PG* credentials only via Secret `suite-postgres`.

    Also: no sqlite store or PVC is left for MLflow, and the init container migrates the
    same database before the server starts. Cannot prove the Secret exists (make secrets).
    """
    objects = _by_name(suite_objects)
    pod = objects[("Deployment", "mlflow")]["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    (init,) = pod["initContainers"]
    assert "--backend-store-uri=postgresql://" in server["args"]
    assert not any("sqlite" in a for a in server["args"])
    assert "mlflow db upgrade postgresql://" in init["command"][-1]
    for container in (server, init):
        refs = _secret_env(container)
        for env, key in PG_KEYS.items():
            assert refs[env] == ("suite-postgres", key)
        assert not [e for e in container["env"] if e["name"] == "PGPASSWORD" and "value" in e]
    assert ("PersistentVolumeClaim", "mlflow-db") not in objects
    postgres = objects[("StatefulSet", "postgres")]["spec"]["template"]["spec"]["containers"][0]
    assert set(_secret_env(postgres)) == set(PG_KEYS.values())


def test_mlflow_readiness_is_the_registry_query_the_tests_gate_on(suite_objects):
    """Proves: readiness is the DB-touching registry query the real test server passes.

    Cannot prove a kubelet's probe gets 200 (no cluster); the test server does.
    """
    pod = _by_name(suite_objects)[("Deployment", "mlflow")]["spec"]["template"]["spec"]
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["path"] == READY_PATH
    fixture = REPO / "tests" / "registry_concurrency" / "conftest.py"
    assert f'READY_PATH = "{READY_PATH}"' in fixture.read_text(encoding="utf-8")


def test_make_secrets_creates_the_postgres_secret_keys():
    """Proves: `make secrets` writes the postgres keys to the env file and the Secret.

    Reads mk/cluster.mk's recipe text; cannot run it (it needs a cluster).
    """
    recipe = (REPO / "mk" / "cluster.mk").read_text(encoding="utf-8")
    assert re.search(r"secret \$\(SUITE_NS\) suite-postgres", recipe)
    for key in PG_KEYS.values():
        assert f"{key}=" in recipe
