"""Two training pipelines (compiled YAML on kfp.local) registering and promoting at once.

The pipeline is the training pipeline's registry half built from the suite's own
components: a producer task writes churn_data's snapshot (standing in for Feast, as in
tests/components), then ``train_model -> evaluate_model -> dsl.If(blessed) ->
register_model(promote=True)``. It is compiled to YAML, loaded back and run twice at
the same time by `pipelines.local_runner.run_compiled` (two OS processes, each running
its tasks as further processes). Both runs train on the same data with the same seed,
so whichever gates second ties the first's champion and is blessed too (tolerance
0.05): both register, both promote.

Backends: the PostgreSQL-backed MLflow server (2 workers), and the ``sqlite:///`` file
``make run`` uses, opened by every task directly. What SQLite does: every run here
succeeded on SQLite too; its writers wait on the file lock (MLflow sets SQLite's
busy_timeout to 20 s before "database is locked") and the registry lock puts the
alias moves in order, so the outcome is the same as on PostgreSQL. What SQLite cannot do is be
shared: every task must see the same file, which on a cluster means one pod.
"""

import threading
from pathlib import Path

import pytest
from kfp import compiler, dsl
from kfp.dsl import Dataset, Output

from churn_data.schema import TRAIN_ROLES
from components import _aliases
from components import _mlflow as mlf
from components._images import image_for
from components._registry_lock import lock_model_name
from components.evaluate_model.component import evaluate_model
from components.register_model.component import register_model
from components.train_model.component import train_model
from pipelines.local_runner import run_compiled

CUSTOMERS = 1200
SEED = 5
RUNS = 2


@dsl.component(base_image=image_for("train_model"), install_kfp_package=False)
def produce_training_frame(n_customers: int, seed: int, frame: Output[Dataset]):
    """Writes churn_data's ground-truth snapshot as the training frame."""
    from churn_data import GeneratorConfig, generate

    snapshot = generate(GeneratorConfig(n_customers=n_customers, seed=seed)).snapshot
    snapshot.drop(columns=["churn_probability"]).to_parquet(frame.path, index=False)


@dsl.pipeline(name="concurrent-train-register")
def train_register_promote(tracking_uri: str, registered_model_name: str):
    """Trains, gates against the champion and, when blessed, registers and promotes."""
    data = produce_training_frame(n_customers=CUSTOMERS, seed=SEED)
    trained = train_model(
        training_data=data.outputs["frame"], tracking_uri=tracking_uri, seed=SEED, **TRAIN_ROLES
    )
    gate = evaluate_model(
        model=trained.outputs["model"],
        holdout=trained.outputs["holdout"],
        tracking_uri=tracking_uri,
        registered_model_name=registered_model_name,
        tolerance=0.05,
    )
    with dsl.If(gate.outputs["Output"] == True):  # noqa: E712 (a KFP condition)
        register_model(
            model=trained.outputs["model"],
            evaluation=gate.outputs["evaluation"],
            tracking_uri=tracking_uri,
            registered_model_name=registered_model_name,
            promote=True,
        )


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    """The pipeline compiled to YAML (the file the runs load back)."""
    path = tmp_path_factory.mktemp("compiled") / "concurrent-train-register.yaml"
    compiler.Compiler().compile(train_register_promote, str(path))
    return path


@pytest.fixture(params=["postgres", "sqlite"])
def backend(request, tmp_path) -> str:
    """A tracking URI: the PostgreSQL-backed server, or a fresh sqlite file."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_tracking_uri")
    return f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"


def test_two_pipelines_at_once_end_with_every_version_and_one_champion(
    compiled, backend, request, tmp_path
):
    """Two compiled training pipelines run at the same time against one registry.

    Proves: both runs succeed (no store error in any task), both versions exist, exactly
    one is ``champion`` and the other ``previous``, in the order the promotions took the
    lock (the later promotion's recorded predecessor is the earlier one's version), no
    ``challenger`` is left and no alias move is pending.
    Cannot prove: the timing of every task (the OS picks the interleaving; the
    6-process test in test_concurrent_promotions covers more), or Argo on a cluster.
    """
    name = f"pipelines-{request.node.callspec.id}"
    client = mlf.mlflow_client(backend)
    mlf.ensure_experiment(client, "churn")  # the store exists before the runs race to it
    errors: list[BaseException] = []
    results = {}

    def run(i: int) -> None:
        try:
            results[i] = run_compiled(
                compiled,
                {"tracking_uri": backend, "registered_model_name": name},
                pipeline_root=tmp_path / f"root{i}",
                log_path=tmp_path / f"run{i}.log",
                echo=lambda _line: None,
            )
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    assert not errors, "\n\n".join(str(e) for e in errors)
    for i, result in results.items():
        registered = result.task("register-model")
        assert registered is not None, f"run {i} did not reach register-model: {result}"
        assert registered.status == "SUCCESS", f"run {i}: {result}"
    seconds = ", ".join(f"{r.seconds:.0f}s" for r in results.values())
    print(f"{name}: {RUNS} concurrent pipeline runs, each {seconds}")

    versions = client.search_model_versions(f"name='{name}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    first, last = sorted(versions, key=lambda v: int(v.tags[_aliases.TAG_PROMOTION_TICKET]))
    assert first.tags[_aliases.TAG_PROMOTION_REPLACED] == ""
    assert last.tags[_aliases.TAG_PROMOTION_REPLACED] == str(first.version)
    aliases = {k: str(v) for k, v in client.get_registered_model(name).aliases.items()}
    assert aliases == {
        mlf.ALIAS_CHAMPION: str(last.version),
        mlf.ALIAS_PREVIOUS: str(first.version),
    }
    assert _aliases.pending_intent(client, name) is None
    assert client.search_model_versions(f"name='{lock_model_name(name)}'") == []
