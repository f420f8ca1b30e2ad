# syntax=docker/dockerfile:1
# The PXL prover image: Debian bookworm, Coq from Debian's packages, and the package set up
# by scripts/setup.sh — the same script the README and CI run — so the image is what is
# tested. The built-in kernel is compiled at build time into /opt/pxl/prebuilt, which the
# server reads (PXL_PREBUILT_KERNELS) without compiling again, even when PXL_CACHE_DIR is an
# empty volume (Kubernetes mounts an emptyDir there: the root filesystem is read-only). A
# kernel mounted at run time (PXL_KERNEL_DIR, e.g. a ConfigMap) is compiled into
# PXL_CACHE_DIR at start, so that folder is writable by the unprivileged user.
#   docker build -t pxl-prover .
#   docker run -p 8088:8088 pxl-prover
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONSAFEPATH=1 \
    PIP_NO_CACHE_DIR=1 \
    PXL_CACHE_DIR=/var/cache/pxl \
    PXL_PREBUILT_KERNELS=/opt/pxl/prebuilt \
    PXL_SERVER_HOST=0.0.0.0 \
    PXL_SERVER_PORT=8088

WORKDIR /opt/pxl
COPY pyproject.toml README.md ./
COPY scripts/ scripts/
COPY prover/ prover/
COPY operator/ operator/
COPY coq/ coq/

# setup.sh installs Coq, python3 and python3-venv with apt-get (we are root here), creates
# .venv, pip-installs the package and compiles the kernel into /opt/pxl/prebuilt.
RUN PXL_CACHE_DIR=/opt/pxl/prebuilt bash scripts/setup.sh \
    && mkdir -p "$PXL_CACHE_DIR" \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin pxl \
    && chown -R 10001:10001 "$PXL_CACHE_DIR"

USER 10001:10001
EXPOSE 8088
STOPSIGNAL SIGTERM
# Liveness: /health answers at once even while the kernel compiles; readiness is /ready.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD /opt/pxl/.venv/bin/python -c "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PXL_SERVER_PORT', '8088'), timeout=4)"
ENTRYPOINT ["/opt/pxl/.venv/bin/pxl-prover"]
CMD ["serve"]
