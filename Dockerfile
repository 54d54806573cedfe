# syntax=docker/dockerfile:1.7
#
# One Dockerfile, one image per dependency group. `--target` picks the group:
#
#   docker build --target data  --build-arg SUITE_VERSION=0.1.0-3f2a9c1d -t <registry>/suite-data:0.1.0-3f2a9c1d .
#   docker build --target train ...        docker build --target serve ...
#
# (`make images` builds all three.) Every group installs only the packages named in
# requirements/<group>.in, at the versions of the one lock requirements.txt
# (`-c requirements.txt`), so the images and the dev venv agree on every version.
# components/_images.py maps each component to its group.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---------------------------------------------------------------- base: OS layer
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
# libgomp1: OpenMP runtime that the xgboost wheel links against (not in -slim).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 suite \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin suite

# ------------------------------------------- builder: uv + the suite source tree
FROM base AS builder
ARG UV_VERSION=0.13.9
RUN pip install "uv==${UV_VERSION}"
WORKDIR /app
COPY requirements.txt ./
COPY requirements/ ./requirements/
COPY pyproject.toml VERSION ./
COPY components/ ./components/
COPY pipelines/ ./pipelines/
COPY churn_data/ ./churn_data/
COPY bench/ ./bench/
COPY feature_repo/ ./feature_repo/
# Installs one group from the lock into /opt/venv, then the suite itself without
# dependencies (editable, so components._version finds /app/VERSION).
COPY <<'EOF' /usr/local/bin/suite-install-group
#!/bin/sh
set -eu
group="$1"
test -f "requirements/${group}.in" || { echo "no requirements/${group}.in" >&2; exit 1; }
python -m venv /opt/venv
# --compile-bytecode: pods run with no .pyc written at import (PYTHONDONTWRITEBYTECODE),
# so every step would otherwise compile its imports from source.
uv pip install --python /opt/venv/bin/python --no-cache --compile-bytecode \
    -c requirements.txt -r "requirements/${group}.in"
uv pip install --python /opt/venv/bin/python --no-cache --no-deps -e /app
/opt/venv/bin/python -m compileall -q /app/components /app/pipelines /app/churn_data
/opt/venv/bin/python -c "import components, pipelines, kfp"
/opt/venv/bin/python -m components._bytecode
EOF
RUN chmod 0755 /usr/local/bin/suite-install-group

FROM builder AS venv-data
RUN suite-install-group data

FROM builder AS venv-train
RUN suite-install-group train

FROM builder AS venv-serve
RUN suite-install-group serve

# ------------------------------------------------ runtime: what every image shares
FROM base AS runtime
ARG SUITE_VERSION
RUN test -n "${SUITE_VERSION}" || { echo "build with --build-arg SUITE_VERSION=<version>" >&2; exit 1; }
# components._version.suite_version() reads this first: images carry no git metadata.
ENV SUITE_VERSION=${SUITE_VERSION}
LABEL org.opencontainers.image.title="kfp-mlops-suite" \
      org.opencontainers.image.version="${SUITE_VERSION}"
COPY --from=builder /app /app
WORKDIR /home/suite
USER 10001:10001

# ------------------------------------------------------------ the three targets
FROM runtime AS data
COPY --from=venv-data /opt/venv /opt/venv
# DuckDB's S3 support is an extension it downloads on first use; fetch it at build
# time so get_features works in pods that cannot reach extensions.duckdb.org.
RUN python -c "import duckdb; duckdb.sql('INSTALL httpfs')"

FROM runtime AS train
COPY --from=venv-train /opt/venv /opt/venv

FROM runtime AS serve
COPY --from=venv-serve /opt/venv /opt/venv
# MLServer: REST 8080, gRPC 8081, Prometheus metrics 8082 (/metrics). The metrics
# dir must be writable by the non-root user (MLServer's default is ./.metrics).
ENV MLSERVER_HTTP_PORT=8080 \
    MLSERVER_GRPC_PORT=8081 \
    MLSERVER_METRICS_PORT=8082 \
    MLSERVER_METRICS_DIR=/tmp/mlserver-metrics
EXPOSE 8080 8081 8082
CMD ["mlserver", "start", "/mnt/models"]
