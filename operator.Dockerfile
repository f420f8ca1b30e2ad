# syntax=docker/dockerfile:1
# The PXL operator image: the `pxl` distribution on Debian bookworm's python3, running
# `pxl-operator run` as an unprivileged numeric user (so Kubernetes' runAsNonRoot can
# verify it). The build stage installs the package into a venv; the runtime stage copies
# only that venv and the kernel's .v sources. Build from the repository root:
#   docker build -f operator.Dockerfile -t ghcr.io/logos-pxl/pxl-operator:0.1.0 .
# (behind a TLS-intercepting proxy add --secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt;
# without Docker, scripts/build-images.sh builds it with buildah; tests/test_images.py checks it).

FROM debian:bookworm-slim AS build
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
WORKDIR /src
COPY pyproject.toml ./
# The runtime dependencies (pyproject's base set, not [dev]) in a layer of their own, so
# that changing the code does not download them again.
RUN --mount=type=secret,id=ca-bundle,required=false \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python3 -m venv /opt/pxl/venv \
    && python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print(*p["dependencies"], *p["optional-dependencies"]["operator"], sep="\n")' >/tmp/requirements.txt \
    && /opt/pxl/venv/bin/pip install -q -r /tmp/requirements.txt
COPY README.md ./
COPY src/ src/
# pip and setuptools are not needed once the package is in.
RUN --mount=type=secret,id=ca-bundle,required=false \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && /opt/pxl/venv/bin/pip install -q --no-deps . \
    && /opt/pxl/venv/bin/pip uninstall -y -q pip setuptools
# The operator hashes the kernel built into the prover image of the same commit from the
# .v sources the pxl_prover package ships (package data), so nothing more to copy.
# Slimmed for the 200 MB budget: kubernetes' asyncio client (kubernetes.aio, ~70 MB) is
# never imported (pxl_operator uses the synchronous client; kopf talks to the API itself),
# and third-party packages are kept as compiled bytecode only (their tracebacks show no
# source lines). The pxl packages keep their sources.
RUN site="$(/opt/pxl/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && rm -rf "$site/kubernetes/aio" \
    && find "$site" -name __pycache__ -prune -exec rm -rf {} + \
    && /opt/pxl/venv/bin/python -m compileall -q -j 0 -b -x '/pxl_(prover|operator)/' "$site" \
    && find "$site" -name '*.py' -not -path "$site/pxl_*" -delete \
    && /opt/pxl/venv/bin/python -m compileall -q -j 0 "$site/pxl_prover" "$site/pxl_operator"

FROM debian:bookworm-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/pxl/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       python3 >/dev/null \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
    && useradd --system --uid 10001 --user-group --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin pxl
COPY --from=build /opt/pxl/ /opt/pxl/
USER 10001:10001
# kopf's liveness endpoint (the chart probes it).
EXPOSE 8080
ENTRYPOINT ["pxl-operator"]
CMD ["run", "--liveness=http://0.0.0.0:8080/healthz"]
