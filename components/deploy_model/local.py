"""Local target: a running MLServer and its model repository on disk.

Layout of the repository (``python -m components._serving serve --repo DIR``)::

    DIR/settings.json                       server settings (ports)
    DIR/<served>/model-settings.json        the served default: name <served>, version N
    DIR/<served>-candidate/model-settings.json   only while a candidate is tested
    DIR/_artifacts/<served>/v<N>/           MLflow model copies, one per version

Clients always call ``/v2/models/<served>/infer``. A new version is first loaded
alongside as ``<served>-candidate`` (through MLServer's repository API) and
smoke-tested there. Only then is ``<served>/model-settings.json`` switched to
the new version and reloaded: MLServer loads the new version and unloads the
stale one, so the default changes without a gap. A failed smoke test unloads
the candidate and leaves ``<served>`` untouched.

A shadow rollout smoke-tests the challenger as the candidate the same way, then
rewrites ``<served>/model-settings.json`` for the version that already serves with
``shadow_uri`` / ``shadow_version`` naming the challenger and reloads it through the
same switch: the suite runtime then scores the challenger on every request and logs
its answers (``model_role`` shadow), while clients keep the champion's. A canary
switch writes the settings without shadow fields, so promotion clears the shadow.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from components._serving.settings import (
    MODEL_SETTINGS_FILE,
    SHADOW_VERSION_PARAMETER,
    artifact_dir,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import requests
    from mlflow import MlflowClient

CANDIDATE_SUFFIX = "-candidate"


@dataclass(frozen=True)
class LocalTarget:
    """Where the local MLServer is and where its repository lives."""

    base_url: str
    repo_dir: Path
    served_name: str

    @property
    def candidate_name(self) -> str:
        """Model name of the candidate while it is tested."""
        return self.served_name + CANDIDATE_SUFFIX


@dataclass(frozen=True)
class LocalOutcome:
    """What a local deployment did."""

    action: str  # "promoted" | "unchanged" | "rolled_back" | "shadowing"
    version: str
    previous_version: str | None
    reason: str
    shadow_removed: str | None = None  # the shadow version the switch cleared or replaced


def served_parameters(target: LocalTarget) -> dict | None:
    """Returns the ``parameters`` of ``<served>/model-settings.json``, or None without one."""
    path = target.repo_dir / target.served_name / MODEL_SETTINGS_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("parameters", {})


def served_version(target: LocalTarget, key: str = "version") -> str | None:
    """Returns the version ``<served>/model-settings.json`` declares, or None.

    Args:
        target: The local server and repository.
        key: ``version`` (the served default) or
            :data:`~components._serving.settings.SHADOW_VERSION_PARAMETER` (its shadow).
    """
    version = (served_parameters(target) or {}).get(key)
    return None if version is None else str(version)


def install_artifact(
    client: MlflowClient, model_uri: str, target: LocalTarget, version: str
) -> Path:
    """Copies the model into ``_artifacts/<served>/v<version>`` once; returns the folder."""
    from components._serving.models import download_model

    dst = artifact_dir(target.repo_dir, target.served_name, version)
    return dst if dst.is_dir() else download_model(client, model_uri, dst)


def smoke_rows(model_dir: Path, frame: pd.DataFrame | None) -> pd.DataFrame:
    """Returns the rows to smoke-test with: ``frame``, else the model's input example.

    Raises:
        ValueError: If neither is available.
    """
    import pandas as pd
    from mlflow.models import Model

    if frame is not None and not frame.empty:
        return frame
    example = Model.load(str(model_dir)).load_input_example(str(model_dir))
    if example is None:
        raise ValueError(
            f"no smoke-test rows: pass some, or log the model at {model_dir} with an input_example"
        )
    return pd.DataFrame(example)


def smoke_test(
    session: requests.Session,
    base_url: str,
    model: str,
    frame: pd.DataFrame,
    expected: np.ndarray,
    version: str,
    atol: float,
) -> str | None:
    """Scores ``frame`` on ``model``; returns the problem in words, or None if it passed.

    Passing means: HTTP 200, the answer comes from ``version``, and the
    predictions match ``expected`` within ``atol``.
    """
    from components._serving.v2 import (
        build_v2_request,
        compare_predictions,
        decode_v2_outputs,
        infer,
    )

    answer = infer(session, base_url, model, build_v2_request(frame))
    if not answer.ok:
        return f"{model} answered {answer.status}: {answer.error}"
    if str(answer.body.get("model_version")) != str(version):
        return f"{model} answered from version {answer.body.get('model_version')}, not {version}"
    diff = compare_predictions(decode_v2_outputs(answer.body), expected, atol)
    if not diff <= atol:
        return f"{model} predictions differ from in-process by {diff:.3g} (tolerance {atol:g})"
    return None


def deploy_local(
    client: MlflowClient,
    model_uri: str,
    version: str,
    target: LocalTarget,
    *,
    smoke_frame: pd.DataFrame | None = None,
    atol: float = 1e-6,
    shadow: bool = False,
) -> LocalOutcome:
    """Loads ``version`` beside the current one, smoke-tests it, then switches or rolls back.

    Args:
        client: MLflow client (to fetch the model).
        model_uri: Where the model is (``models:/name/version`` ...).
        version: The registry version (becomes the MLServer model version).
        target: The running server and its repository.
        smoke_frame: Rows to smoke-test; None uses the model's input example.
        atol: Largest allowed difference to in-process predictions.
        shadow: Instead of switching to ``version``, reload the serving version with
            ``version`` as its shadow (the caller checks a champion serves).

    Returns:
        "unchanged" if ``version`` already serves (with no shadow), "promoted" after a
        switch, "shadowing" once the champion scores ``version`` in shadow,
        "rolled_back" if the candidate or the switch failed (the previous settings
        still serve).
    """
    import mlflow.pyfunc
    import requests

    from components._serving.settings import write_model_settings
    from components._serving.v2 import repository_load, repository_unload

    version = str(version)
    current = served_version(target)
    current_shadow = served_version(target, SHADOW_VERSION_PARAMETER)
    with requests.Session() as session:
        if (
            not shadow
            and current == version
            and current_shadow is None
            and _answers_from(session, target, version)
        ):
            return LocalOutcome("unchanged", version, current, f"version {version} already serves")
        model_dir = install_artifact(client, model_uri, target, version)
        frame = smoke_rows(model_dir, smoke_frame)
        expected = mlflow.pyfunc.load_model(str(model_dir)).predict(frame)
        candidate_dir = target.repo_dir / target.candidate_name
        write_model_settings(candidate_dir, target.candidate_name, model_dir, version)
        try:
            loaded = repository_load(session, target.base_url, target.candidate_name)
            problem = (
                smoke_test(
                    session, target.base_url, target.candidate_name, frame, expected, version, atol
                )
                if loaded.ok
                else f"candidate did not load ({loaded.status}): {loaded.error}"
            )
            if problem is None and shadow:
                champion_dir = Path((served_parameters(target) or {})["uri"])
                champion = mlflow.pyfunc.load_model(str(champion_dir)).predict(frame)
                problem = _switch(
                    session, target, champion_dir, str(current), frame, champion, atol,
                    shadow=(model_dir, version),
                )  # fmt: skip
            elif problem is None:
                problem = _switch(session, target, model_dir, version, frame, expected, atol)
        finally:
            repository_unload(session, target.base_url, target.candidate_name)
            shutil.rmtree(candidate_dir, ignore_errors=True)
    if problem is not None:
        return LocalOutcome(
            "rolled_back",
            version,
            current,
            f"{problem}; {target.served_name} still serves version {current}",
        )
    if shadow:
        return LocalOutcome(
            "shadowing",
            version,
            current,
            f"{target.served_name} answers from version {current} and scores version "
            f"{version} in shadow on every request (logged with model_role shadow)",
            shadow_removed=current_shadow if current_shadow != version else None,
        )
    return LocalOutcome(
        "promoted", version, current, f"{target.served_name} now serves {version}",
        shadow_removed=current_shadow,
    )  # fmt: skip


def _answers_from(session: requests.Session, target: LocalTarget, version: str) -> bool:
    url = f"{target.base_url.rstrip('/')}/v2/models/{target.served_name}/versions/{version}/ready"
    try:
        return session.get(url, timeout=5).status_code == 200
    except OSError:
        return False


def _switch(
    session: requests.Session,
    target: LocalTarget,
    model_dir: Path,
    version: str,
    frame: pd.DataFrame,
    expected: np.ndarray,
    atol: float,
    shadow: tuple[Path, str] | None = None,
) -> str | None:
    """Points ``<served>`` at ``version``; restores the old settings if that fails.

    Args:
        session: HTTP session to the server.
        target: The running server and its repository.
        model_dir: The MLflow model folder ``<served>`` serves.
        version: Its registry version.
        frame: Smoke-test rows.
        expected: ``model_dir``'s in-process predictions on ``frame``.
        atol: Largest allowed difference.
        shadow: (folder, version) of a challenger the runtime scores in shadow; None
            writes the settings without one (a canary switch clears a shadow).
    """
    from components._serving.settings import write_model_settings
    from components._serving.v2 import repository_load, repository_unload

    served_dir = target.repo_dir / target.served_name
    settings = served_dir / MODEL_SETTINGS_FILE
    before = settings.read_text(encoding="utf-8") if settings.is_file() else None
    shadow_uri, shadow_version = shadow or (None, None)
    write_model_settings(
        served_dir, target.served_name, model_dir, version,
        shadow_uri=shadow_uri, shadow_version=shadow_version,
    )  # fmt: skip
    loaded = repository_load(session, target.base_url, target.served_name)
    problem = (
        smoke_test(session, target.base_url, target.served_name, frame, expected, version, atol)
        if loaded.ok
        else f"switch did not load ({loaded.status}): {loaded.error}"
    )
    if problem is not None:
        if before is None:
            shutil.rmtree(served_dir, ignore_errors=True)
            repository_unload(session, target.base_url, target.served_name)
        else:
            settings.write_text(before, encoding="utf-8")
            repository_load(session, target.base_url, target.served_name)
    return problem
