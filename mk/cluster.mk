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
# SELDON=1 (also install Seldon Core 2), ENV_FILE, KFP_PORT, MLFLOW_PORT, WAIT_TIMEOUT.

KIND ?= kind
KUBECTL ?= kubectl
DOCKER ?= docker
CLUSTER_NAME ?= kfp-mlops
KIND_NODE_IMAGE ?= kindest/node:v1.33.1
SUITE_IMAGE_REGISTRY ?= ghcr.io/kfp-mlops-suite
ifeq ($(origin SUITE_VERSION),undefined)
SUITE_VERSION := $(shell $(PYTHON) -c 'from components._version import suite_version; print(suite_version())')
endif
SUITE_GROUPS := data train serve
SUITE_IMAGE_BASES := serving serving-seldon bootstrap
SUITE_IMAGES := $(foreach g,$(SUITE_GROUPS),$(SUITE_IMAGE_REGISTRY)/suite-$(g):$(SUITE_VERSION))
SELDON ?= 0
ENV_FILE ?= manifests/.env
KFP_PORT ?= 8080
MLFLOW_PORT ?= 5000
WAIT_TIMEOUT ?= 600s
PIPELINE_NS := kubeflow
SUITE_NS := suite
SERVING_NS := suite-serving
MINIO_URL := http://minio.$(SUITE_NS).svc.cluster.local:9000
CLUSTER_BUILD := dist/cluster
K := $(KUBECTL) --context kind-$(CLUSTER_NAME)

.PHONY: images kind-load cluster-up cluster-down secrets port-forward cluster-overlays cluster-data

images: ## Build the data/train/serve images, tagged <SUITE_IMAGE_REGISTRY>/suite-<group>:<suite version>
	@test -n "$(SUITE_VERSION)" || { echo "could not compute the suite version"; exit 1; }
	@for group in $(SUITE_GROUPS); do \
	  echo "==> $(SUITE_IMAGE_REGISTRY)/suite-$$group:$(SUITE_VERSION)"; \
	  $(DOCKER) build --target $$group --build-arg SUITE_VERSION=$(SUITE_VERSION) \
	    -t $(SUITE_IMAGE_REGISTRY)/suite-$$group:$(SUITE_VERSION) . || exit 1; \
	done

kind-load: ## Load the suite images into the kind cluster (no registry needed)
	@for image in $(SUITE_IMAGES); do \
	  $(KIND) load docker-image --name $(CLUSTER_NAME) $$image || exit 1; \
	done

cluster-up: ## Create the kind cluster and install KFP, Knative+KServe, MinIO, MLflow, Redis, RBAC, runtime
	@$(KIND) get clusters 2>/dev/null | grep -qx '$(CLUSTER_NAME)' \
	  || $(KIND) create cluster --name $(CLUSTER_NAME) --image $(KIND_NODE_IMAGE) \
	       --config manifests/kind/cluster.yaml --wait 180s
	@echo "==> cert-manager"
	$(K) apply --server-side -k manifests/platform/cert-manager
	$(K) -n cert-manager wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	@echo "==> Kubeflow Pipelines"
	$(K) apply --server-side -k manifests/platform/kfp/cluster-scoped
	$(K) wait --for=condition=Established crd/applications.app.k8s.io --timeout=120s
	$(K) apply --server-side -k manifests/platform/kfp
	@echo "==> Knative Serving + Kourier"
	$(K) apply --server-side -k manifests/platform/knative/crds
	$(K) wait --for=condition=Established crd --all --timeout=120s
	$(K) apply --server-side -k manifests/platform/knative
	$(K) -n knative-serving wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	$(K) -n kourier-system wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	@echo "==> KServe"
	$(K) apply --server-side --force-conflicts -k manifests/platform/kserve
	$(K) -n kserve wait --for=condition=Available deployment/kserve-controller-manager --timeout=$(WAIT_TIMEOUT)
	$(K) apply --server-side --force-conflicts -k manifests/platform/kserve/cluster-resources
	@if [ "$(SELDON)" = "1" ]; then \
	  echo "==> Seldon Core 2"; \
	  $(K) apply --server-side -k manifests/platform/seldon/crds && \
	  $(K) wait --for=condition=Established crd --all --timeout=120s && \
	  $(K) apply --server-side -k manifests/platform/seldon || exit 1; \
	fi
	@echo "==> suite: Secrets, MinIO, PostgreSQL, MLflow, Redis, endpoints, RBAC"
	$(K) -n $(PIPELINE_NS) wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) secrets
	$(K) apply -k manifests/suite
	$(K) -n $(SUITE_NS) wait --for=condition=Available deployment --all --timeout=$(WAIT_TIMEOUT)
	$(K) -n $(SUITE_NS) wait --for=condition=Complete job/minio-buckets --timeout=$(WAIT_TIMEOUT)
	@echo "==> serving runtime (image $(SUITE_IMAGE_REGISTRY)/suite-serve:$(SUITE_VERSION))"
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) cluster-overlays
	$(K) apply -k $(CLUSTER_BUILD)/serving
	@if [ "$(SELDON)" = "1" ]; then $(K) apply -k $(CLUSTER_BUILD)/serving-seldon || exit 1; fi
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

cluster-data: cluster-overlays ## Generate the churn data in the cluster, upload it to MinIO, feast apply
	$(K) -n $(PIPELINE_NS) delete job suite-bootstrap-data --ignore-not-found
	$(K) apply -k $(CLUSTER_BUILD)/bootstrap
	$(K) -n $(PIPELINE_NS) wait --for=condition=Complete job/suite-bootstrap-data --timeout=900s \
	  || { $(K) -n $(PIPELINE_NS) logs job/suite-bootstrap-data --tail=50; exit 1; }
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
