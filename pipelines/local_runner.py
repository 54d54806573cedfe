"""Run a compiled pipeline YAML through kfp.local and report progress.

kfp.local streams every task's full executor input and logs to stdout, which is
too much to read while a run is going. `run_compiled` runs the YAML in a child
process, keeps the full log in a file, and prints one line per task with its
status and duration. The child is `python -m pipelines.local_runner`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r"Executing task '([^']+)'")
_FINISHED = re.compile(r"Task '([^']+)' finished with status (\w+)")
# Lines a component prints on purpose for a person watching the run.
_PROGRESS = re.compile(r"^\s*(\[suite\] .*)$")


class PipelineRunError(RuntimeError):
    """A local pipeline run failed; the message names the failed task and the log file."""


@dataclass
class TaskRecord:
    """One task of a local run as seen in its log."""

    name: str
    status: str = "RUNNING"
    seconds: float = 0.0


@dataclass
class LocalRunResult:
    """What a local run did: its tasks in order, the log file and the pipeline root."""

    tasks: list[TaskRecord] = field(default_factory=list)
    log_path: Path | None = None
    pipeline_root: Path | None = None
    seconds: float = 0.0

    def task(self, name: str) -> TaskRecord | None:
        """Returns the record of the task called `name`, or None if it did not run."""
        return next((t for t in self.tasks if t.name == name), None)


def run_compiled(
    yaml_path: Path,
    arguments: dict,
    pipeline_root: Path,
    log_path: Path,
    echo=print,
) -> LocalRunResult:
    """Runs a compiled pipeline YAML locally (SubprocessRunner, no venv per task).

    Args:
        yaml_path: Compiled pipeline file (`dist/<pipeline>-<version>.yaml`).
        arguments: Pipeline parameter values overriding the compiled defaults.
        pipeline_root: Where kfp.local writes task outputs.
        log_path: File that receives the full kfp.local log.
        echo: Called with one line per task event (progress for a person).

    Returns:
        The tasks that ran with their status and duration.

    Raises:
        FileNotFoundError: If `yaml_path` does not exist.
        PipelineRunError: If the run fails; names the failing task and the log.
    """
    yaml_path = Path(yaml_path)
    if not yaml_path.is_file():
        raise FileNotFoundError(f"compiled pipeline not found: {yaml_path} (run `make compile`)")
    pipeline_root.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    args_path = log_path.with_suffix(".arguments.json")
    args_path.write_text(json.dumps(arguments, indent=2, sort_keys=True), encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "pipelines.local_runner",
        str(yaml_path),
        str(args_path),
        str(pipeline_root),
    ]
    result = LocalRunResult(log_path=log_path, pipeline_root=pipeline_root)
    started: dict[str, float] = {}
    t0 = time.monotonic()
    with (
        log_path.open("w", encoding="utf-8") as log,
        subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        ) as proc,
    ):
        assert proc.stdout is not None
        for raw in proc.stdout:
            log.write(raw)
            line = _ANSI.sub("", raw.rstrip("\n"))
            if m := _STARTED.search(line):
                started[m.group(1)] = time.monotonic()
                result.tasks.append(TaskRecord(m.group(1)))
                echo(f"  [{time.monotonic() - t0:6.1f}s] {m.group(1)} ...")
            elif m := _FINISHED.search(line):
                record = result.task(m.group(1)) or TaskRecord(m.group(1))
                record.status = m.group(2)
                record.seconds = time.monotonic() - started.get(record.name, t0)
                echo(
                    f"  [{time.monotonic() - t0:6.1f}s] {record.name} {record.status} "
                    f"({record.seconds:.1f}s)"
                )
            elif m := _PROGRESS.match(line):
                echo(f"      {m.group(1)}")
        returncode = proc.wait()
    result.seconds = time.monotonic() - t0
    if returncode != 0:
        failed = [t.name for t in result.tasks if t.status not in ("SUCCESS", "RUNNING")]
        failed = failed or [t.name for t in result.tasks if t.status == "RUNNING"]
        tail = "".join(log_path.read_text(encoding="utf-8").splitlines(keepends=True)[-25:])
        raise PipelineRunError(
            f"pipeline {yaml_path.name} failed at task(s) {failed or '?'}; "
            f"full log: {log_path}\n--- last lines ---\n{_ANSI.sub('', tail)}"
        )
    return result


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("yaml_path")
    parser.add_argument("arguments_json")
    parser.add_argument("pipeline_root")
    ns = parser.parse_args(argv)

    from kfp import components, local

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=ns.pipeline_root,
        raise_on_error=True,
    )
    pipeline = components.load_component_from_file(ns.yaml_path)
    arguments = json.loads(Path(ns.arguments_json).read_text(encoding="utf-8"))
    pipeline(**arguments)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
