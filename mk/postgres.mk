# A local PostgreSQL and an MLflow tracking server in front of it, for runs that are
# concurrent or shared (see the README, "MLflow on PostgreSQL"). Included from the
# Makefile. Binds 127.0.0.1 only. Debian/Ubuntu: installs the `postgresql` package
# when initdb is missing (needs root or sudo).
#
#   make postgres-up          # install if needed, initdb in PG_DATA, start on PG_PORT
#   make mlflow-server        # mlflow db upgrade + mlflow server on MLFLOW_LOCAL_PORT (foreground)
#   make run TRACKING_URI=http://127.0.0.1:5000
#   make postgres-down
#
# The password is generated into $(PG_DATA)/password (mode 600) and handed to
# MLflow in PGPASSWORD, never on a command line. As root, initdb and postgres refuse
# to run: they run as the `postgres` user, which must be able to enter PG_DATA's
# parent directories (else set PG_DATA=/var/lib/postgresql/suite-mlflow).

PG_DATA ?= $(abspath $(DATA_DIR))/postgres
PG_PORT ?= 55432
PG_USER ?= suite
PG_DB ?= mlflow
MLFLOW_LOCAL_PORT ?= 5000
PG_BINDIR = $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin)))
PG_AS = $(if $(filter 0,$(shell id -u)),runuser -u postgres --,)

.PHONY: postgres-install postgres-up postgres-down mlflow-server

postgres-install: ## Install Debian's PostgreSQL server package if initdb is missing
	@if [ -z "$(PG_BINDIR)" ] || [ ! -x "$(PG_BINDIR)/initdb" ]; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql \
	    || { $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; }; \
	fi

postgres-up: postgres-install ## Start PostgreSQL on 127.0.0.1:$(PG_PORT) with data in PG_DATA (database $(PG_DB))
	@set -eu; bindir="$$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"; \
	mkdir -p "$(PG_DATA)"; \
	if [ ! -f "$(PG_DATA)/password" ]; then \
	  ( umask 077; $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(24))' > "$(PG_DATA)/password" ); \
	fi; \
	if [ -n "$(PG_AS)" ]; then \
	  chown postgres: "$(PG_DATA)" "$(PG_DATA)/password"; \
	  $(PG_AS) test -w "$(PG_DATA)" || { echo "user postgres cannot write $(PG_DATA): set PG_DATA=/var/lib/postgresql/suite-mlflow" >&2; exit 1; }; \
	fi; \
	if [ ! -f "$(PG_DATA)/data/PG_VERSION" ]; then \
	  $(PG_AS) "$$bindir/initdb" -D "$(PG_DATA)/data" -U $(PG_USER) --pwfile="$(PG_DATA)/password" \
	    --auth-host=scram-sha-256 --auth-local=scram-sha-256 --encoding=UTF8 --no-instructions; \
	fi; \
	$(PG_AS) "$$bindir/pg_ctl" -D "$(PG_DATA)/data" status >/dev/null 2>&1 \
	  || $(PG_AS) "$$bindir/pg_ctl" -D "$(PG_DATA)/data" -l "$(PG_DATA)/postgres.log" -w \
	       -o "-h 127.0.0.1 -p $(PG_PORT) -k $(PG_DATA)" start; \
	export PGPASSWORD="$$(cat "$(PG_DATA)/password")"; \
	"$$bindir/psql" -h 127.0.0.1 -p $(PG_PORT) -U $(PG_USER) -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$(PG_DB)'" | grep -q 1 \
	  || "$$bindir/createdb" -h 127.0.0.1 -p $(PG_PORT) -U $(PG_USER) $(PG_DB); \
	echo "PostgreSQL on 127.0.0.1:$(PG_PORT), database $(PG_DB), user $(PG_USER) (password in $(PG_DATA)/password)"

postgres-down: ## Stop the local PostgreSQL (data stays in PG_DATA)
	@bindir="$$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"; \
	if [ -f "$(PG_DATA)/data/PG_VERSION" ]; then $(PG_AS) "$$bindir/pg_ctl" -D "$(PG_DATA)/data" -m fast -w stop || true; fi

mlflow-server: setup postgres-up ## MLflow tracking server on 127.0.0.1:$(MLFLOW_LOCAL_PORT) backed by the local PostgreSQL (foreground)
	@set -eu; export PGHOST=127.0.0.1 PGPORT=$(PG_PORT) PGUSER=$(PG_USER) PGDATABASE=$(PG_DB); \
	export PGPASSWORD="$$(cat "$(PG_DATA)/password")"; \
	$(VENV)/bin/mlflow db upgrade postgresql://; \
	echo "MLflow: http://127.0.0.1:$(MLFLOW_LOCAL_PORT)  (make run TRACKING_URI=http://127.0.0.1:$(MLFLOW_LOCAL_PORT))"; \
	exec $(VENV)/bin/mlflow server --host 127.0.0.1 --port $(MLFLOW_LOCAL_PORT) --workers 2 \
	  --backend-store-uri postgresql:// --serve-artifacts \
	  --artifacts-destination "$(abspath $(DATA_DIR))/mlflow-server/artifacts"
