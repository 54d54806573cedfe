# The cluster path: images, a kind cluster with KFP + KServe/Knative + MLflow + MinIO +
# Redis, credentials, port-forwards. Included from the Makefile (uses PYTHON).
# Needs on your machine: docker, kind, kubectl (with built-in kustomize), git, network.
#
#   make images cluster-up kind-load      # from nothing to a ready cluster
#   make cluster-data                     # churn data on MinIO + feast apply (in-cluster Job)
#   make port-forward                     # KFP UI :8080, MLflow UI :5000 (leave running)
#   make cluster-down
#
# Overridable: CLUSTER_NAME, KIND_NODE_IMAGE, SUITE_IMAGE_REGISTRY, SUITE_VERSION,
# SELDON=1 (also install Seldon Core 2), ENV_FILE, KFP_PORT, MLFLOW_PORT, WAIT_TIMEOUT,
# JOB_TIMEOUT. A custom SUITE_IMAGE_REGISTRY must reach every target (images, kind-load,
# cluster-up, cluster-data, compile): `export SUITE_IMAGE_REGISTRY=...` once in the shell.

KIND ?= kind
KUBECTL ?= kubectl
DOCKER ?= docker
CLUSTER_NAME ?= kfp-mlops
# kind v0.31.0's default node image, by digest (pkg/apis/config/defaults/image.go at the tag).
# Kubernetes 1.35: Knative 1.21 needs >= 1.33 (knative.dev/pkg version.defaultMinimumVersion).
KIND_NODE_IMAGE ?= kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f
SUITE_IMAGE_REGISTRY ?= ghcr.io/kfp-mlops-suite
comma := ,
# compile (components/_images.py) reads it from the environment too.
export SUITE_IMAGE_REGISTRY
# The registry host Knative compares with registries-skipping-tag-resolving
# (go-containerregistry RegistryStr: the first path part if it looks like a host, else Docker Hub).
SUITE_REGISTRY_FIRST := $(firstword $(subst /, ,$(SUITE_IMAGE_REGISTRY)))
SUITE_REGISTRY_HOST := $(if $(or $(findstring .,$(SUITE_REGISTRY_FIRST)),$(findstring :,$(SUITE_REGISTRY_FIRST)),$(filter localhost,$(SUITE_REGISTRY_FIRST))),$(SUITE_REGISTRY_FIRST),index.docker.io)
KNATIVE_SKIP_TAG_RESOLVING := kind.local,ko.local,dev.local,ghcr.io,localhost:5001$(if $(filter-out ghcr.io localhost:5001,$(SUITE_REGISTRY_HOST)),$(comma)$(SUITE_REGISTRY_HOST))
ifeq ($(origin SUITE_VERSION),undefined)
SUITE_VERSION := $(shell $(PYTHON) -c 'from components._version import suite_version; print(suite_version())')
endif
SUITE_GROUPS := data train serve
SUITE_IMAGE_BASES := serving serving-seldon serving-logger bootstrap
SUITE_IMAGES := $(foreach g,$(SUITE_GROUPS),$(SUITE_IMAGE_REGISTRY)/suite-$(g):$(SUITE_VERSION))
SELDON ?= 0
ENV_FILE ?= manifests/.env
KFP_PORT ?= 8080
MLFLOW_PORT ?= 5000
WAIT_TIMEOUT ?= 600s
JOB_TIMEOUT ?= 900
PIPELINE_NS := kubeflow
SUITE_NS := suite
SERVING_NS := suite-serving
MINIO_URL := http://minio.$(SUITE_NS).svc.cluster.local:9000
CLUSTER_BUILD := dist/cluster
K := $(KUBECTL) --context kind-$(CLUSTER_NAME)
# BuildKit's provenance/SBOM attestations turn the image into an index that
# `kind load docker-image` cannot import from Docker's containerd image store
# (kind#3795: "ctr: content digest ... not found").
DOCKER_BUILD_FLAGS ?= --provenance=false --sbom=false
# `make manifests`: the serving objects for one model version, for review / GitOps.
MODEL_URI ?= models:/churn/1
STORAGE_URI ?=
SERVING_OUT ?= dist/serving
CANARY_PERCENT ?= 10

.PHONY: images kind-load cluster-up cluster-down secrets port-forward cluster-overlays cluster-data manifests

images: ## Build the data/train/serve images, tagged <SUITE_IMAGE_REGISTRY>/suite-<group>:<suite version>
	@test -n "$(SUITE_VERSION)" || { echo "could not compute the suite version"; exit 1; }
	@for group in $(SUITE_GROUPS); do \
	  echo "==> $(SUITE_IMAGE_REGISTRY)/suite-$$group:$(SUITE_VERSION)"; \
	  $(DOCKER) build $(DOCKER_BUILD_FLAGS) --target $$group --build-arg SUITE_VERSION=$(SUITE_VERSION) \
	    -t $(SUITE_IMAGE_REGISTRY)/suite-$$group:$(SUITE_VERSION) . || exit 1; \
	done

kind-load: ## Load the suite images into the kind cluster (no registry needed)
	@for image in $(SUITE_IMAGES); do \
	  $(DOCKER) image inspect $$image >/dev/null 2>&1 || { \
	    echo "$$image is not in the local Docker images: build it with make images" \
	      "(same SUITE_IMAGE_REGISTRY and SUITE_VERSION)"; exit 1; }; \
	  echo "==> kind load $$image"; \
	  $(KIND) load docker-image --name $(CLUSTER_NAME) $$image || exit 1; \
	done

cluster-up: ## Create the kind cluster and install KFP, Knative+KServe, MinIO, MLflow, Redis, RBAC, runtime
	@test -n "$(SUITE_VERSION)" || { echo "could not compute the suite version"; exit 1; }
	@echo "==> suite images: $(SUITE_IMAGES)"
	@$(KIND) get clusters 2>/dev/null | grep -qx '$(CLUSTER_NAME)' \
	  || $(KIND) create cluster --name $(CLUSTER_NAME) --image $(KIND_NODE_IMAGE) \
	       --config manifests/kind/cluster.yaml --wait 180s
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) cluster-overlays
	@echo "==> namespaces the upstream releases do not create: kserve, suite, suite-serving"
	$(K) apply --server-side -k manifests/platform/namespaces
	@echo "==> cert-manager"
	$(K) apply --server-side -k manifests/platform/cert-manager
	$(K) wait --for=condition=Established crd --all --timeout=120s
	$(K) -n cert-manager wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	@echo "==> Kubeflow Pipelines"
	$(K) apply --server-side -k manifests/platform/kfp/cluster-scoped
	$(K) wait --for=condition=Established crd --all --timeout=120s
	$(K) apply --server-side -k manifests/platform/kfp
	@echo "==> Knative Serving + Kourier"
	$(K) apply --server-side -k manifests/platform/knative/crds
	$(K) wait --for=condition=Established crd --all --timeout=120s
	$(K) apply --server-side -k $(CLUSTER_BUILD)/knative
	$(K) -n knative-serving wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	$(K) -n kourier-system wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	@echo "==> KServe"
	$(K) apply --server-side -k manifests/platform/kserve/crds
	$(K) wait --for=condition=Established crd --all --timeout=120s
	$(K) apply --server-side --force-conflicts -k manifests/platform/kserve
	$(K) wait --for=condition=Established crd --all --timeout=120s
	$(K) -n kserve wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	$(K) apply --server-side --force-conflicts -k manifests/platform/kserve/cluster-resources
	@if [ "$(SELDON)" = "1" ]; then \
	  echo "==> Seldon Core 2"; \
	  $(K) apply --server-side -k manifests/platform/seldon/crds && \
	  $(K) wait --for=condition=Established crd --all --timeout=120s && \
	  $(K) apply --server-side -k manifests/platform/seldon && \
	  $(K) -n $(SERVING_NS) wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT) \
	  || exit 1; \
	fi
	@echo "==> suite: Secrets, MinIO, PostgreSQL, MLflow, Redis, endpoints, RBAC"
	$(K) -n $(PIPELINE_NS) wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) secrets
	$(K) apply -k manifests/suite
	$(K) -n $(SUITE_NS) wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	$(K) -n $(SUITE_NS) wait --for=condition=Complete job/minio-buckets --timeout=$(WAIT_TIMEOUT)
	@echo "==> serving runtime (image $(SUITE_IMAGE_REGISTRY)/suite-serve:$(SUITE_VERSION))"
	$(K) apply -k $(CLUSTER_BUILD)/serving
	@echo "==> prediction-log sink (InferenceService logger -> parquet on MinIO)"
	$(K) apply -k $(CLUSTER_BUILD)/serving-logger
	@if [ "$(SELDON)" = "1" ]; then $(K) apply -k $(CLUSTER_BUILD)/serving-seldon || exit 1; fi
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) cluster-observability
	@echo "Cluster ready. Next: make kind-load cluster-data, make port-forward (another terminal), make compile submit."

cluster-overlays: # Overlays of the offline bases that pin the suite images to this version and registry
	@test -n "$(SUITE_VERSION)" || { echo "could not compute the suite version"; exit 1; }
	@for base in $(SUITE_IMAGE_BASES); do \
	  mkdir -p $(CLUSTER_BUILD)/$$base; \
	  rel=$$($(PYTHON) -c 'import os, sys; print(os.path.relpath(*sys.argv[1:]))' \
	    manifests/$$base $(CLUSTER_BUILD)/$$base) || exit 1; \
	  { printf '%s\n' \
	      'apiVersion: kustomize.config.k8s.io/v1beta1' \
	      'kind: Kustomization' \
	      "resources: [$$rel]" \
	      'images:'; \
	    for group in $(SUITE_GROUPS); do printf '%s\n' \
	      "  - name: ghcr.io/kfp-mlops-suite/suite-$$group" \
	      "    newName: $(SUITE_IMAGE_REGISTRY)/suite-$$group" \
	      '    newTag: "$(SUITE_VERSION)"'; \
	    done; } > $(CLUSTER_BUILD)/$$base/kustomization.yaml; \
	done
	@mkdir -p $(CLUSTER_BUILD)/knative
	@rel=$$($(PYTHON) -c 'import os, sys; print(os.path.relpath(*sys.argv[1:]))' \
	  manifests/platform/knative $(CLUSTER_BUILD)/knative) || exit 1; \
	printf '%s\n' \
	  'apiVersion: kustomize.config.k8s.io/v1beta1' \
	  'kind: Kustomization' \
	  "resources: [$$rel]" \
	  'patches: [{path: config-deployment.yaml}]' > $(CLUSTER_BUILD)/knative/kustomization.yaml; \
	printf '%s\n' \
	  '# Knative must not resolve tags of kind-loaded suite images ($(SUITE_IMAGE_REGISTRY)).' \
	  'apiVersion: v1' 'kind: ConfigMap' \
	  'metadata: {name: config-deployment, namespace: knative-serving}' \
	  'data:' '  registries-skipping-tag-resolving: "$(KNATIVE_SKIP_TAG_RESOLVING)"' \
	  > $(CLUSTER_BUILD)/knative/config-deployment.yaml

cluster-data: cluster-overlays ## Generate the churn data in the cluster, upload it to MinIO, feast apply
	$(K) -n $(PIPELINE_NS) delete job suite-bootstrap-data --ignore-not-found
	$(K) apply -k $(CLUSTER_BUILD)/bootstrap
	@echo "==> waiting for job/suite-bootstrap-data to complete (stops at the first failure; up to $(JOB_TIMEOUT) s)"
	@deadline=$$(( $$(date +%s) + $(JOB_TIMEOUT) )); \
	logs() { $(K) -n $(PIPELINE_NS) logs job/suite-bootstrap-data --tail=50; }; \
	while :; do \
	  state=" $$($(K) -n $(PIPELINE_NS) get job suite-bootstrap-data \
	    -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}') "; \
	  case "$$state" in \
	    *" Complete "*) break ;; \
	    *" Failed "*) echo "job/suite-bootstrap-data failed:"; logs; exit 1 ;; \
	  esac; \
	  if [ "$$(date +%s)" -ge "$$deadline" ]; then \
	    echo "job/suite-bootstrap-data not complete after $(JOB_TIMEOUT) s:"; logs; exit 1; \
	  fi; \
	  sleep 5; \
	done
	$(K) -n $(PIPELINE_NS) logs job/suite-bootstrap-data --tail=5

cluster-down: ## Delete the kind cluster (and everything in it)
	$(KIND) delete cluster --name $(CLUSTER_NAME)

secrets: ## Create/refresh the suite Secrets from manifests/.env (written with random values if missing)
	@if [ ! -f "$(ENV_FILE)" ]; then \
	  echo "==> $(ENV_FILE) not found: writing one with random credentials (git-ignored)"; \
	  umask 077; \
	  $(PYTHON) -c 'import secrets; t = secrets.token_urlsafe; print(f"MINIO_ROOT_USER=suite-admin\nMINIO_ROOT_PASSWORD={t(24)}\nREDIS_PASSWORD={t(24)}")' > "$(ENV_FILE)"; \
	fi
	@grep -q '^POSTGRES_PASSWORD=' "$(ENV_FILE)" || { umask 077; \
	  $(PYTHON) -c 'import secrets; print(f"POSTGRES_USER=mlflow\nPOSTGRES_DB=mlflow\nPOSTGRES_PASSWORD={secrets.token_urlsafe(24)}")' >> "$(ENV_FILE)"; }
	@set -euo pipefail; set -a; . "$(abspath $(ENV_FILE))"; set +a; \
	apply() { $(K) apply -f -; }; \
	secret() { ns="$$1"; name="$$2"; shift 2; \
	  $(K) -n "$$ns" create secret generic "$$name" "$$@" --dry-run=client -o yaml; }; \
	s3_env() { printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$$MINIO_ROOT_USER" "$$MINIO_ROOT_PASSWORD"; }; \
	for ns in $(PIPELINE_NS) $(SUITE_NS) $(SERVING_NS); do \
	  $(K) create namespace "$$ns" --dry-run=client -o yaml | apply; \
	done; \
	secret $(SUITE_NS) minio-root --from-env-file=<(printf 'MINIO_ROOT_USER=%s\nMINIO_ROOT_PASSWORD=%s\n' \
	  "$$MINIO_ROOT_USER" "$$MINIO_ROOT_PASSWORD") | apply; \
	for ns in $(SUITE_NS) $(PIPELINE_NS); do \
	  secret "$$ns" suite-s3 --from-env-file=<(s3_env) | apply; \
	done; \
	secret $(SUITE_NS) suite-redis --from-env-file=<(printf 'REDIS_PASSWORD=%s\n' "$$REDIS_PASSWORD") | apply; \
	secret $(SUITE_NS) suite-postgres --from-env-file=<(printf 'POSTGRES_USER=%s\nPOSTGRES_PASSWORD=%s\nPOSTGRES_DB=%s\n' \
	  "$$POSTGRES_USER" "$$POSTGRES_PASSWORD" "$$POSTGRES_DB") | apply; \
	secret $(PIPELINE_NS) suite-redis --from-env-file=<(printf 'FEAST_REDIS_CONNECTION=%s\n' \
	  "redis.$(SUITE_NS).svc.cluster.local:6379,password=$$REDIS_PASSWORD") | apply; \
	secret $(SERVING_NS) suite-s3 --from-env-file=<(s3_env) \
	| $(K) annotate --local -f - -o yaml \
	    serving.kserve.io/s3-endpoint=minio.$(SUITE_NS).svc.cluster.local:9000 \
	    serving.kserve.io/s3-usehttps=0 \
	    serving.kserve.io/s3-region=us-east-1 \
	    serving.kserve.io/s3-useanoncredential=false \
	| apply; \
	if [ "$(SELDON)" = "1" ]; then \
	  secret $(SERVING_NS) suite-seldon-rclone --from-file=s3=<(printf '%s\n' \
	    'type: s3' 'name: s3' 'parameters:' '  provider: Minio' '  env_auth: "false"' \
	    "  access_key_id: $$MINIO_ROOT_USER" "  secret_access_key: $$MINIO_ROOT_PASSWORD" \
	    '  endpoint: $(MINIO_URL)') | apply; \
	fi
	@echo "Secrets in $(SUITE_NS), $(PIPELINE_NS), $(SERVING_NS) are up to date."

port-forward: ## Port-forward the KFP UI (:KFP_PORT) and MLflow UI (:MLFLOW_PORT) until Ctrl-C
	@echo "KFP UI:    http://localhost:$(KFP_PORT)  (also the API for make submit / KFP_HOST)"
	@echo "MLflow UI: http://localhost:$(MLFLOW_PORT)"
	@trap 'kill $$kfp $$mlflow 2>/dev/null' INT TERM EXIT; \
	$(K) -n $(PIPELINE_NS) port-forward svc/ml-pipeline-ui $(KFP_PORT):80 & kfp=$$!; \
	$(K) -n $(SUITE_NS) port-forward svc/mlflow $(MLFLOW_PORT):5000 & mlflow=$$!; \
	wait

manifests: cluster-overlays ## Render the serving objects of MODEL_URI (STORAGE_URI) into SERVING_OUT, for review / kubectl diff -f
	@test -n "$(STORAGE_URI)$(MLFLOW_TRACKING_URI)" || { \
	  echo "set STORAGE_URI=s3://... (the model's artifact folder) or MLFLOW_TRACKING_URI"; exit 1; }
	@rm -rf $(SERVING_OUT) && mkdir -p $(SERVING_OUT)/kserve $(SERVING_OUT)/seldon
	$(PY) -m pipelines.render_serving --model-uri '$(MODEL_URI)' --storage-uri '$(STORAGE_URI)' \
	  --canary-percent $(CANARY_PERCENT) --out $(SERVING_OUT)
	$(KUBECTL) kustomize $(CLUSTER_BUILD)/serving > $(SERVING_OUT)/kserve/runtime.yaml
	@echo $(SERVING_OUT)/kserve/runtime.yaml
	$(KUBECTL) kustomize $(CLUSTER_BUILD)/serving-seldon > $(SERVING_OUT)/seldon/runtime.yaml
	@echo $(SERVING_OUT)/seldon/runtime.yaml
	$(KUBECTL) kustomize $(CLUSTER_BUILD)/serving-logger > $(SERVING_OUT)/kserve/prediction-logger.yaml
	@echo $(SERVING_OUT)/kserve/prediction-logger.yaml
