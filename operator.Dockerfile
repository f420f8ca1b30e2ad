# syntax=docker/dockerfile:1
# The PXL operator image: the `pxl` distribution on Debian bookworm, running
# `pxl-operator run` as an unprivileged numeric user (so Kubernetes' runAsNonRoot can
# verify it). Build from the repository root:
#   docker build -f operator.Dockerfile -t ghcr.io/logos-pxl/pxl-operator:0.1.0 .
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY prover/ prover/
COPY operator/ operator/
# Wheels for the distribution and all its dependencies; the final stage installs offline.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:${PYTHON_VERSION}-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The operator hashes the kernel built into the prover image (same commit) from the .v
# sources where pxl_prover.kernel.REPO_KERNEL_DIR points; only the .v files go there.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,source=coq,target=/kernel-src \
    pip install --no-cache-dir --no-index --find-links=/wheels pxl \
    && kernel_dir="$(python -c 'from pxl_prover.kernel import REPO_KERNEL_DIR; print(REPO_KERNEL_DIR)')" \
    && mkdir -p "$kernel_dir" \
    && (cd /kernel-src && find . -name '*.v' -exec cp --parents {} "$kernel_dir" \;) \
    && useradd --system --uid 10001 --user-group --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin pxl
USER 10001:10001
# kopf's liveness endpoint (the chart probes it).
EXPOSE 8080
ENTRYPOINT ["pxl-operator"]
CMD ["run", "--liveness=http://0.0.0.0:8080/healthz"]
