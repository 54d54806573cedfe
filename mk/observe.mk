# Observability: Prometheus + Pushgateway + Alertmanager locally (`make observe`) and on the
# cluster (`make cluster-observability`, run by `make cluster-up`). Included from the
# Makefile after mk/cluster.mk (uses PY, DATA_DIR, SERVE_PORT, K, ENV_FILE, WAIT_TIMEOUT).
#
#   make observability-deps        # Debian: prometheus, prometheus-pushgateway, prometheus-alertmanager
#   make observe                   # leave running; another terminal:
#   SUITE_PUSHGATEWAY_URL=http://127.0.0.1:9091 make run
#
# Overridable: OBSERVE_DIR, PROMETHEUS_PORT, PUSHGATEWAY_PORT, ALERTMANAGER_PORT,
# ALERT_WEBHOOK_URL (default: a receiver inside `make observe` prints each payload),
# OBSERVE_FAST=1 (1 s intervals, for demos).

OBSERVE_DIR ?= $(DATA_DIR)/observe
PROMETHEUS_PORT ?= 9090
PUSHGATEWAY_PORT ?= 9091
ALERTMANAGER_PORT ?= 9093
ALERT_WEBHOOK_URL ?=
OBSERVE_FAST ?= 0
OBSERVABILITY_PACKAGES := prometheus prometheus-pushgateway prometheus-alertmanager
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: observability-deps observe cluster-observability

observability-deps: ## Install Prometheus, Pushgateway, Alertmanager (Debian; not started as services)
	@if command -v prometheus >/dev/null && command -v prometheus-pushgateway >/dev/null \
	    && command -v prometheus-alertmanager >/dev/null; then echo "already installed"; exit 0; fi; \
	set -e; \
	if [ ! -e /usr/sbin/policy-rc.d ]; then \
	  printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null; \
	  $(SUDO) chmod +x /usr/sbin/policy-rc.d; trap '$(SUDO) rm -f /usr/sbin/policy-rc.d' EXIT; \
	fi; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  $(OBSERVABILITY_PACKAGES); \
	if [ -d /run/systemd/system ]; then \
	  $(SUDO) systemctl disable --now prometheus prometheus-pushgateway \
	    prometheus-alertmanager prometheus-node-exporter 2>/dev/null || true; \
	fi

observe: setup ## Local Prometheus :9090, Pushgateway :9091, Alertmanager :9093 with the suite rules (Ctrl-C stops)
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) observability-deps
	$(PY) -m components._observability observe --work-dir $(OBSERVE_DIR) \
	  --prometheus-port $(PROMETHEUS_PORT) --pushgateway-port $(PUSHGATEWAY_PORT) \
	  --alertmanager-port $(ALERTMANAGER_PORT) --mlserver 127.0.0.1:$$(($(SERVE_PORT)+2)) \
	  $(if $(ALERT_WEBHOOK_URL),--webhook-url "$(ALERT_WEBHOOK_URL)") \
	  $(if $(filter 1,$(OBSERVE_FAST)),--fast)

cluster-observability: ## Prometheus Operator + the suite's Prometheus, Alertmanager, Pushgateway, Grafana
	@echo "==> Prometheus Operator"
	$(K) apply --server-side -k manifests/observability/operator
	# Every kind manifests/observability uses (Prometheus, Alertmanager, ServiceMonitor,
	# PodMonitor, PrometheusRule, AlertmanagerConfig) must be Established before it is applied.
	$(K) wait --for=condition=Established crd --all --timeout=120s
	$(K) -n default wait --for=condition=Available deployment/prometheus-operator --timeout=$(WAIT_TIMEOUT)
	@echo "==> webhook Secret suite-alerts (ALERT_WEBHOOK_URL from $(ENV_FILE), or a placeholder)"
	@set -euo pipefail; url="$(ALERT_WEBHOOK_URL)"; \
	if [ -z "$$url" ] && [ -f "$(ENV_FILE)" ]; then \
	  url=$$(sed -n 's/^ALERT_WEBHOOK_URL=//p' "$(ENV_FILE)"); fi; \
	url=$${url:-http://127.0.0.1:9/no-webhook-configured}; \
	$(K) create namespace monitoring --dry-run=client -o yaml | $(K) apply -f -; \
	$(K) -n monitoring create secret generic suite-alerts \
	  --from-file=SUITE_ALERT_WEBHOOK_URL=<(printf '%s' "$$url") --dry-run=client -o yaml \
	| $(K) apply -f -; \
	if [ "$$url" != "http://127.0.0.1:9/no-webhook-configured" ]; then \
	  $(K) -n $(PIPELINE_NS) create secret generic suite-alerts \
	    --from-file=SUITE_ALERT_WEBHOOK_URL=<(printf '%s' "$$url") --dry-run=client -o yaml \
	  | $(K) apply -f -; \
	fi
	@echo "==> suite Prometheus, Alertmanager, Pushgateway, Grafana"
	$(K) apply --server-side -k manifests/observability
	$(K) -n monitoring wait --for=condition=Available deployment/pushgateway deployment/grafana \
	  --timeout=$(WAIT_TIMEOUT)
	@echo "Grafana: $(K) -n monitoring port-forward svc/grafana 3000  (dashboard 'KFP MLOps Suite')"
