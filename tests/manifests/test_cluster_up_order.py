"""`make cluster-up` applies nothing before what it needs exists, is Established or serves.

The dry run (`make -n cluster-up`) is replayed step by step against a small model of a
fresh cluster: which namespaces exist, which CRDs are Established, which Deployments are
Available. Each apply must find its namespaces (or create them in the same apply), the
CRD of every custom kind it creates Established by an earlier step (kubectl maps every
object's kind before it applies the first one, so a CRD in the same apply is too late),
and the Deployment behind every admission webhook an earlier step installed Available.

Offline kustomizations are built with `kubectl kustomize` and read as they are. The remote
ones cannot be built here (no network to GitHub), so what they contain is recorded in
REMOTE below, read from the upstream sources at the pinned tags (file names in the
comments). What this cannot prove: that those summaries stay true if upstream reissues a
release asset, that the waits are long enough on a slow laptop, or anything a real
API server, controller or kubelet decides.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"
ALWAYS = {"default", "kube-system", "kube-public", "kube-node-lease"}


@dataclasses.dataclass(frozen=True)
class Contents:
    """What one kustomization puts on the cluster, as far as ordering is concerned.

    Attributes:
        creates: Namespaces it creates.
        uses: Namespaces its namespaced objects live in.
        crds: ``group/Kind`` of the CRDs it installs.
        kinds: ``group/Kind`` of the custom objects it creates.
        deployments: ``namespace/name`` of its Deployments.
        webhooks: ``namespace/name`` of the Deployments serving the admission webhooks it installs.
    """

    creates: frozenset = frozenset()
    uses: frozenset = frozenset()
    crds: frozenset = frozenset()
    kinds: frozenset = frozenset()
    deployments: frozenset = frozenset()
    webhooks: frozenset = frozenset()


def _c(**fields) -> Contents:
    return Contents(**{key: frozenset(value) for key, value in fields.items()})


KSERVE_CORE_CRDS = {
    f"serving.kserve.io/{kind}"
    for kind in (
        "InferenceService",
        "ServingRuntime",
        "ClusterServingRuntime",
        "InferenceGraph",
        "TrainedModel",
        "ClusterStorageContainer",
    )
}
REMOTE = {
    # prometheus-operator v0.93.0 release bundle.yaml: the monitoring.coreos.com CRDs and
    # the operator Deployment, all in namespace default (no admission webhook).
    "observability/operator": _c(
        uses={"default"},
        crds={
            f"monitoring.coreos.com/{kind}"
            for kind in (
                "Alertmanager",
                "AlertmanagerConfig",
                "PodMonitor",
                "Probe",
                "Prometheus",
                "PrometheusAgent",
                "PrometheusRule",
                "ScrapeConfig",
                "ServiceMonitor",
                "ThanosRuler",
            )
        },
        deployments={"default/prometheus-operator"},
    ),
    # cert-manager v1.17.2 release cert-manager.yaml.
    "platform/cert-manager": _c(
        creates={"cert-manager"},
        uses={"cert-manager", "kube-system"},
        crds={
            "cert-manager.io/Certificate",
            "cert-manager.io/CertificateRequest",
            "cert-manager.io/Issuer",
            "cert-manager.io/ClusterIssuer",
            "acme.cert-manager.io/Order",
            "acme.cert-manager.io/Challenge",
        },
        deployments={
            "cert-manager/cert-manager",
            "cert-manager/cert-manager-cainjector",
            "cert-manager/cert-manager-webhook",
        },
        webhooks={"cert-manager/cert-manager-webhook"},
    ),
    # kubeflow/pipelines manifests/kustomize/cluster-scoped-resources (namespace.yaml,
    # application + Argo + KFP CRDs).
    "platform/kfp/cluster-scoped": _c(
        creates={"kubeflow"},
        crds={
            "app.k8s.io/Application",
            "argoproj.io/Workflow",
            "argoproj.io/WorkflowTemplate",
            "argoproj.io/WorkflowTaskResult",
            "kubeflow.org/ScheduledWorkflow",
            "kubeflow.org/Viewer",
        },
    ),
    # kubeflow/pipelines manifests/kustomize/env/platform-agnostic
    # (base/application/application.yaml is an app.k8s.io Application).
    "platform/kfp": _c(
        uses={"kubeflow"},
        kinds={"app.k8s.io/Application"},
        deployments={
            "kubeflow/ml-pipeline",
            "kubeflow/ml-pipeline-ui",
            "kubeflow/workflow-controller",
        },
    ),
    # knative/serving knative-v1.21.1 serving-crds.yaml.
    "platform/knative/crds": _c(
        crds={
            "serving.knative.dev/Service",
            "serving.knative.dev/Configuration",
            "serving.knative.dev/Revision",
            "serving.knative.dev/Route",
            "caching.internal.knative.dev/Image",
            "networking.internal.knative.dev/Ingress",
            "networking.internal.knative.dev/Certificate",
            "autoscaling.internal.knative.dev/PodAutoscaler",
        }
    ),
    # serving-core.yaml (Namespace knative-serving, the CRDs again, Image/queue-proxy) and
    # net-kourier knative-v1.21.0 kourier.yaml (Namespace kourier-system).
    "platform/knative": _c(
        creates={"knative-serving", "kourier-system"},
        uses={"knative-serving", "kourier-system"},
        kinds={"caching.internal.knative.dev/Image"},
        deployments={
            "knative-serving/activator",
            "knative-serving/autoscaler",
            "knative-serving/controller",
            "knative-serving/webhook",
            "knative-serving/net-kourier-controller",
            "kourier-system/3scale-kourier-gateway",
        },
        webhooks={"knative-serving/webhook"},
    ),
    # kserve v0.20.0 kserve-crds.yaml = config/crd/full.
    "platform/kserve/crds": _c(crds=KSERVE_CORE_CRDS),
    # kserve v0.20.0 kserve.yaml = config/overlays/all minus `kind: Namespace`
    # (hack/release/generate-install.sh): config/base (storagecontainers/default.yaml),
    # components kserve, llmisvc, localmodel (Deployments, CRDs, webhooks, cert-manager
    # Certificates and Issuers).
    "platform/kserve": _c(
        uses={"kserve"},
        crds=KSERVE_CORE_CRDS
        | {
            "serving.kserve.io/LLMInferenceService",
            "serving.kserve.io/LLMInferenceServiceConfig",
            "serving.kserve.io/LocalModelCache",
            "serving.kserve.io/LocalModelNode",
            "serving.kserve.io/LocalModelNodeGroup",
        },
        kinds={
            "serving.kserve.io/ClusterStorageContainer",
            "cert-manager.io/Certificate",
            "cert-manager.io/Issuer",
        },
        deployments={
            "kserve/kserve-controller-manager",
            "kserve/llmisvc-controller-manager",
            "kserve/kserve-localmodel-controller-manager",
        },
        webhooks={
            "kserve/kserve-controller-manager",
            "kserve/llmisvc-controller-manager",
            "kserve/kserve-localmodel-controller-manager",
        },
    ),
    # kserve v0.20.0 kserve-cluster-resources.yaml = config/clusterresources
    # (runtimes: ClusterServingRuntimes; llmisvcconfig: namespace kserve).
    "platform/kserve/cluster-resources": _c(
        uses={"kserve"},
        kinds={
            "serving.kserve.io/ClusterServingRuntime",
            "serving.kserve.io/LLMInferenceServiceConfig",
        },
    ),
    # SeldonIO/seldon-core v2.10.2 k8s/yaml/crds.yaml.
    "platform/seldon/crds": _c(
        crds={
            f"mlops.seldon.io/{kind}"
            for kind in (
                "Model",
                "Experiment",
                "Pipeline",
                "Server",
                "ServerConfig",
                "SeldonConfig",
                "SeldonRuntime",
            )
        }
    ),
    # k8s/yaml/components.yaml (no Namespace, no webhook), namespaced by our kustomization.
    "platform/seldon": _c(
        uses={"suite-serving"},
        kinds={"mlops.seldon.io/SeldonConfig", "mlops.seldon.io/ServerConfig"},
        deployments={"suite-serving/seldon-v2-controller-manager"},
    ),
}
# Which Deployment answers the admission webhook for a kind (the webhook configurations
# in kserve config/webhook/{manifests.yaml,llmisvc,localmodel}, cert-manager's webhook).
WEBHOOK_OF = {
    "serving.kserve.io/InferenceService": "kserve/kserve-controller-manager",
    "serving.kserve.io/ServingRuntime": "kserve/kserve-controller-manager",
    "serving.kserve.io/ClusterServingRuntime": "kserve/kserve-controller-manager",
    "serving.kserve.io/InferenceGraph": "kserve/kserve-controller-manager",
    "serving.kserve.io/TrainedModel": "kserve/kserve-controller-manager",
    "serving.kserve.io/LLMInferenceService": "kserve/llmisvc-controller-manager",
    "serving.kserve.io/LLMInferenceServiceConfig": "kserve/llmisvc-controller-manager",
    "serving.kserve.io/LocalModelCache": "kserve/kserve-localmodel-controller-manager",
    "cert-manager.io/Certificate": "cert-manager/cert-manager-webhook",
    "cert-manager.io/Issuer": "cert-manager/cert-manager-webhook",
}


def _custom(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return ("." in group and not group.endswith(".k8s.io")) or group == "app.k8s.io"


def _local_contents(directory: Path, built) -> Contents:
    creates, uses, crds, kinds, deployments = set(), set(), set(), set(), set()
    for obj in built(directory):
        meta = obj["metadata"]
        group = obj["apiVersion"].rpartition("/")[0]
        if obj["kind"] == "Namespace":
            creates.add(meta["name"])
        if meta.get("namespace"):
            uses.add(meta["namespace"])
        if obj["kind"] == "CustomResourceDefinition":
            crds.add(f"{obj['spec']['group']}/{obj['spec']['names']['kind']}")
        elif _custom(obj["apiVersion"]):
            kinds.add(f"{group}/{obj['kind']}")
        if obj["kind"] == "Deployment":
            deployments.add(f"{meta['namespace']}/{meta['name']}")
    return _c(creates=creates, uses=uses, crds=crds, kinds=kinds, deployments=deployments)


def _contents(target: str, cluster_build: Path, built) -> Contents:
    """Contents of an `apply -k` target: a manifests/ dir or a dist/cluster overlay of one."""
    path = Path(target)
    if not path.is_absolute():
        path = REPO / path
    if path.is_relative_to(cluster_build):
        overlay = path.relative_to(cluster_build).as_posix()
        path = MANIFESTS / ("platform/knative" if overlay == "knative" else overlay)
    key = path.relative_to(MANIFESTS).as_posix()
    if key in REMOTE:
        return REMOTE[key]
    assert not [r for r in _resources(path) if "://" in r], f"{key}: remote, not in REMOTE"
    return _local_contents(path, built)


def _resources(directory: Path) -> list[str]:
    import yaml

    data = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    return [str(item) for item in data.get("resources") or []]


def _kubectl_commands(dry_run: str, cluster: str) -> list[list[str]]:
    """Every kubectl command of the dry run, in order, as argv after `--context kind-X`."""
    text = dry_run.replace("\\\n", " ")
    # The recipe's `if [ "$(SELDON)" = "1" ]; then ...; fi` blocks, as the shell runs them.
    text = re.sub(
        r'if \[ "(\w*)" = "1" \]; then (.*?)\bfi\b',
        lambda m: m.group(2) if m.group(1) == "1" else "",
        text,
        flags=re.S,
    )
    pattern = re.compile(rf"kubectl --context kind-{cluster} ([^;&|\n]+)")
    return [_argv(match.group(1)) for match in pattern.finditer(text)]


def _argv(command: str) -> list[str]:
    """Splits one kubectl command; a fragment cut inside a quoted shell word splits on blanks."""
    try:
        return shlex.split(command)
    except ValueError:  # e.g. `--from-file=K=<(printf '%s' "$url")` cut at the pipe
        return command.split()


@dataclasses.dataclass
class Cluster:
    """A fresh cluster as the replay sees it."""

    namespaces: set = dataclasses.field(default_factory=lambda: set(ALWAYS))
    applied_crds: set = dataclasses.field(default_factory=set)
    established: set = dataclasses.field(default_factory=set)
    deployments: set = dataclasses.field(default_factory=set)
    available: set = dataclasses.field(default_factory=set)
    webhooks: set = dataclasses.field(default_factory=set)

    def apply(self, target: str, contents: Contents) -> list[str]:
        """Applies one kustomization; returns what would fail."""
        problems = []
        missing = contents.uses - self.namespaces - contents.creates
        if missing:
            problems.append(f"{target}: namespaces {sorted(missing)} not found")
        unmapped = contents.kinds - self.established
        if unmapped:
            problems.append(
                f"{target}: no matches for kinds {sorted(unmapped)} (CRD not Established)"
            )
        for kind in sorted(contents.kinds):
            webhook = WEBHOOK_OF.get(kind)
            if webhook in self.webhooks and webhook not in self.available:
                problems.append(f"{target}: {kind} needs webhook {webhook}, not waited for")
        self.namespaces |= contents.creates
        self.applied_crds |= contents.crds
        self.deployments |= contents.deployments
        self.webhooks |= contents.webhooks
        return problems

    def wait(self, argv: list[str]) -> None:
        """Applies a `kubectl wait` to the model."""
        namespace = argv[argv.index("-n") + 1] if "-n" in argv else None
        condition = next(a for a in argv if a.startswith("--for=")).split("=", 2)[-1]
        what = [a for a in argv if not a.startswith("-") and a not in (namespace, "wait")]
        every = "--all" in argv
        if condition == "Established":
            if every:
                self.established |= self.applied_crds
            for item in what:
                if item.startswith("crd/"):  # crd/<plural>.<group>
                    plural, _, group = item[4:].partition(".")
                    self.established |= {
                        crd
                        for crd in self.applied_crds
                        if crd == f"{group}/{crd.split('/')[1]}"
                        and crd.split("/")[1].lower() + "s" == plural
                    }
        elif condition == "Available":
            for item in what:
                if item == "deployment" and every:
                    self.available |= {d for d in self.deployments if d.startswith(f"{namespace}/")}
                elif item.startswith("deployment/"):
                    self.available.add(f"{namespace}/{item.split('/', 1)[1]}")


def _replay(dry_run: str, cluster_build: Path, built) -> tuple[list[str], list[str]]:
    state = Cluster()
    problems, applied = [], []
    for argv in _kubectl_commands(dry_run, "kfp-mlops"):
        if "apply" in argv:
            if "-f" in argv and argv[argv.index("-f") + 1] == "-":
                continue  # make secrets: Secrets into the namespaces it creates itself
            target = argv[argv.index("-k") + 1]
            applied.append(target)
            problems += state.apply(target, _contents(target, cluster_build, built))
        elif "wait" in argv:
            state.wait(argv)
    return problems, applied


@pytest.fixture(scope="module")
def cluster_makefile(makefile):
    """The throwaway Makefile (conftest's `makefile`)."""
    return makefile


def _dry_run(makefile: Path, cluster_build: Path, *args: str) -> str:
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-f",
            str(makefile),
            "-n",
            "cluster-up",
            "SUITE_VERSION=1.2.3",
            f"CLUSTER_BUILD={cluster_build}",
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("seldon", ["0", "1"])
def test_cluster_up_applies_nothing_before_its_namespace_crds_and_webhooks(
    cluster_makefile, tmp_path, built, seldon
):
    """Proves, with and without Seldon, every apply of cluster-up finds what it needs.

    Namespaces exist (the `kserve` Namespace that KServe's release omits, `suite-serving`
    before the Seldon operator), CRDs are Established before objects of their kinds
    (KServe's ClusterStorageContainer), and webhook-backed objects wait for the Deployment
    serving the webhook (LLMInferenceServiceConfig and the llmisvc controller, the suite
    ServingRuntime and the KServe controller). Cannot prove the REMOTE summaries are still
    what upstream serves, nor that the waits are long enough.
    """
    problems, applied = _replay(
        _dry_run(cluster_makefile, tmp_path, f"SELDON={seldon}"), tmp_path, built
    )
    assert not problems, "\n".join(problems)
    assert any(target.endswith("serving") for target in applied)
    assert any(target.endswith("serving-seldon") for target in applied) == (seldon == "1")


def test_the_replay_catches_a_missing_namespace_crd_and_webhook_wait(built, tmp_path):
    """Proves the replay is not vacuous: it flags the three mistakes the fix removed.

    Replays yesterday's KServe order (kserve.yaml without the namespace and CRD steps,
    cluster resources after only the KServe controller). Cannot prove it catches every
    kind of ordering mistake.
    """
    prefix = "kubectl --context kind-kfp-mlops"
    old = "\n".join(
        [
            f"{prefix} apply --server-side -k manifests/platform/cert-manager",
            f"{prefix} wait --for=condition=Established crd --all",
            f"{prefix} -n cert-manager wait --for=condition=Available deployment --all",
            f"{prefix} apply --server-side -k manifests/platform/kserve",
            f"{prefix} -n kserve wait --for=condition=Available"
            " deployment/kserve-controller-manager",
            f"{prefix} wait --for=condition=Established crd --all",
            f"{prefix} apply --server-side -k manifests/platform/kserve/cluster-resources",
            f"{prefix} apply --server-side -k manifests/platform/seldon",
        ]
    )
    problems, _ = _replay(old, tmp_path, built)
    text = "\n".join(problems)
    assert "namespaces ['kserve'] not found" in text
    assert "serving.kserve.io/ClusterStorageContainer" in text
    assert "needs webhook kserve/llmisvc-controller-manager" in text
    assert "namespaces ['suite-serving'] not found" in text
