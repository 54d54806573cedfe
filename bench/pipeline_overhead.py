"""Pipeline overhead: the compiled training pipeline on kfp.local vs the same work in a script.

Both sides do the same four steps on the same data: get_features (Feast, DuckDB
ASOF store) -> validate_data (GX) -> train_model (XGBoost, MLflow sqlite) ->
evaluate_model (gate, on the repo's slice features as the pipeline's is). The
pipeline side sets an unreachable ROC AUC floor so it stops at the gate, like the
script. Everything runs in one invocation, so the
ratio is measured under the same machine load.

    python -m bench.pipeline_overhead [--customers 3000] [--import-times]

With ``--import-times`` the pipeline runs a second time with
``PYTHONPROFILEIMPORTTIME=1`` (not timed: the profiling slows imports) and the
seconds each task's interpreter spends importing are printed per task, with
the heaviest top-level imports.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.compile import compile_all
from pipelines.local import LocalRunConfig, generate_day0, local_arguments, prepare_feature_store
from pipelines.local_runner import run_compiled

SCRIPT = """
import sys, time
t0 = time.monotonic()
from churn_data.schema import TRAIN_ROLES
from pipelines.config import PipelineConfig
from components import _mlflow as mlf
from components.get_features.core import GetFeaturesConfig, run
from components.validate_data.core import contract_from_dict, enforce, validate_frame
from components.train_model import core as train_core
from components.evaluate_model.core import GateConfig, evaluate
repo, labels, uri, start, end = sys.argv[1:6]
config = PipelineConfig.from_repo(repo)
frame = run(GetFeaturesConfig(repo, "churn_v1", labels, start, end)).frame
enforce(validate_frame(frame, contract_from_dict(config.contract)), "fail")
client = mlf.mlflow_client(uri)
result = train_core.run(
    train_core.TrainJob(frame, train_core.TrainConfig(**TRAIN_ROLES, seed=7)), client=client
)
evaluate(
    result.holdout, result.model_uri, client, "churn", GateConfig(min_roc_auc=1.01),
    label_column="churned", slice_features=list(config.suite.slice_features),
)
print(f"SCRIPT_SECONDS {time.monotonic() - t0:.2f}")
"""


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")
_TASK_START = re.compile(r"Executing task \S*'([\w-]+)'")


def import_seconds(log_text: str) -> dict[str, tuple[float, list[tuple[str, float]]]]:
    """Returns, per task of a ``PYTHONPROFILEIMPORTTIME=1`` run log, import seconds and top imports.

    Top-level imports (no indentation in the profile) are summed; the runner's
    own imports, before the first task starts, are under ``(runner)``.

    Args:
        log_text: The kfp.local log of the run.
    """
    per_task: dict[str, dict[str, float]] = {"(runner)": {}}
    current = "(runner)"
    for line in log_text.splitlines():
        started = _TASK_START.search(line)
        if started:
            current = started.group(1)
            per_task.setdefault(current, {})
            continue
        match = _IMPORT_LINE.search(line)
        if match and not match.group(3):
            name = match.group(4)
            per_task[current][name] = per_task[current].get(name, 0.0) + int(match.group(2)) / 1e6
    return {
        task: (sum(top.values()), sorted(top.items(), key=lambda kv: -kv[1])[:4])
        for task, top in per_task.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Runs both sides once and prints a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--import-times", action="store_true", help="also profile imports")
    args = parser.parse_args(argv)
    imports: dict[str, tuple[float, list[tuple[str, float]]]] = {}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        run = LocalRunConfig(data_dir=Path(tmp) / "data", customers=args.customers)
        generate_day0(run, print)
        prepare_feature_store(run, run.day0_end, print)
        compiled = compile_all(Path(tmp) / "dist")

        t0 = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(run.feature_repo),
             str(run.sources / "labels.parquet"), run.tracking_uri + ".script",
             run.day0_start, run.day0_end],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        script_wall = time.monotonic() - t0
        inner = next(line for line in out.stdout.splitlines() if line.startswith("SCRIPT_"))

        arguments = {
            **local_arguments(run, "http://127.0.0.1:9"),
            "train_start": run.day0_start,
            "train_end": run.day0_end,
            "min_roc_auc": 1.01,
        }
        result = run_compiled(
            compiled["training"], arguments, run.outputs, run.logs / "bench.log", echo=print
        )
        if args.import_times:
            os.environ["PYTHONPROFILEIMPORTTIME"] = "1"
            try:
                profiled = run_compiled(
                    compiled["training"],
                    arguments,
                    run.outputs / "profiled",
                    run.logs / "imports.log",
                    echo=print,
                )
            finally:
                del os.environ["PYTHONPROFILEIMPORTTIME"]
            imports = import_seconds(profiled.log_path.read_text(encoding="utf-8"))
    per_task = {t.name: t.seconds for t in result.tasks}
    print()
    print("| work | wall s |")
    print("|---|---|")
    print(f"| plain script, one process (incl. imports) | {script_wall:.1f} |")
    print(f"| plain script, after interpreter start | {inner.split()[1]} |")
    print(f"| compiled pipeline on kfp.local ({len(per_task)} tasks) | {result.seconds:.1f} |")
    for name, seconds in per_task.items():
        print(f"| &nbsp;&nbsp;task {name} | {seconds:.1f} |")
    print(f"\npipeline / script = {result.seconds / script_wall:.2f}x")
    loads = [load_start, os.getloadavg()]
    print("load average (1/5/15 min) at start / end: "
          + " / ".join("/".join(f"{x:.2f}" for x in load) for load in loads))  # fmt: skip
    if imports:
        print("\n| process (import-profiled run) | import s | heaviest top-level imports (s) |")
        print("|---|---|---|")
        for task, (total, top) in imports.items():
            heaviest = ", ".join(f"{name} {sec:.2f}" for name, sec in top)
            print(f"| {task} | {total:.2f} | {heaviest} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
