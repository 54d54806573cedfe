"""Many processes registering and promoting at once, on PostgreSQL and on SQLite.

Each worker is a separate OS process running the suite's `register` + `promote` (as
a pipeline's register task does), several versions in a row, all workers started
together. PostgreSQL: an MLflow tracking server (2 workers) in front of a real
PostgreSQL, as on the cluster. SQLite: the ``sqlite:///`` file that ``make run``
uses, opened by every process directly.

What SQLite does: every process's writes queue on the database file's lock (MLflow
sets SQLite's ``busy_timeout`` to 20 s: a writer waits up to 20 s, then fails with
"database is locked"; create_model_version also retries a version-number clash 3
times). With the registry lock in front of every alias move, no worker got an error in
the runs here and the registry ends as the same serial chain as on PostgreSQL; the
moves simply run one at a time, on both backends (the lock's purpose).
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components import _aliases
from components import _mlflow as mlf
from components._registry_lock import lock_model_name

WORKER = Path(__file__).with_name("registry_worker.py")
WORKERS = 6
VERSIONS_PER_WORKER = 3


@pytest.fixture(params=["postgres", "sqlite"])
def backend(request, tmp_path) -> str:
    """A tracking URI: the PostgreSQL-backed server, or a fresh sqlite file."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_tracking_uri")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def _run_workers(tracking_uri: str, name: str, experiment_id: str) -> list[dict]:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                "cycle",
                f"--tracking-uri={tracking_uri}",
                f"--name={name}",
                f"--experiment-id={experiment_id}",
                f"--worker={i}",
                f"--count={VERSIONS_PER_WORKER}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WORKERS)
    ]
    records, failures = [], []
    for proc in procs:
        out, err = proc.communicate(timeout=540)
        if proc.returncode != 0:
            failures.append(err[-2000:])
        records += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert not failures, "a worker failed:\n" + "\n---\n".join(failures)
    return records


def test_concurrent_register_and_promote_keep_one_serial_history(backend, request):
    """6 processes x 3 versions each, all at once: the registry ends as some serial order.

    Proves, on both backends: every worker succeeds (no store error), all 18 versions
    exist, the promotion tickets are distinct, and the promotions form one chain: in
    ticket order each promoted version's recorded predecessor is the version promoted
    just before it, the final ``champion`` is the last one and ``previous`` the one
    before (no lost update); no ``challenger`` is left and the lock holds no ticket.
    Cannot prove: every interleaving (the OS scheduler picks a few), or behaviour with
    a holder that outlives its lease (the lock's stated assumption).
    """
    name = f"concurrent-{request.node.callspec.id}"
    client = mlf.mlflow_client(backend)
    experiment_id = mlf.ensure_experiment(client, "registry-concurrency")
    t0 = time.monotonic()
    records = _run_workers(backend, name, experiment_id)
    elapsed = time.monotonic() - t0
    assert len(records) == WORKERS * VERSIONS_PER_WORKER
    versions = client.search_model_versions(f"name='{name}'")
    assert sorted(int(v.version) for v in versions) == list(range(1, len(records) + 1))
    promoted = sorted(versions, key=lambda v: int(v.tags[_aliases.TAG_PROMOTION_TICKET]))
    tickets = [int(v.tags[_aliases.TAG_PROMOTION_TICKET]) for v in promoted]
    assert len(set(tickets)) == len(tickets)
    chain = [v.tags[_aliases.TAG_PROMOTION_REPLACED] for v in promoted]
    assert chain == ["", *[str(v.version) for v in promoted[:-1]]]
    aliases = {k: str(v) for k, v in client.get_registered_model(name).aliases.items()}
    assert aliases == {
        mlf.ALIAS_CHAMPION: str(promoted[-1].version),
        mlf.ALIAS_PREVIOUS: str(promoted[-2].version),
    }
    assert _aliases.pending_intent(client, name) is None
    assert client.search_model_versions(f"name='{lock_model_name(name)}'") == []
    slowest = max(r["register_s"] + r["promote_s"] for r in records)
    print(
        f"{name}: {len(records)} moves by {WORKERS} processes in {elapsed:.1f}s, "
        f"slowest register+promote {slowest:.1f}s"
    )
