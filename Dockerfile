# syntax=docker/dockerfile:1
# The PXL prover image, in two stages. The build stage installs Debian's Coq (which pulls in
# OCaml, findlib and gcc), installs the `pxl` package into a venv, and compiles the built-in
# kernel into /opt/pxl/prebuilt. The runtime stage holds only what serving needs: Debian's
# python3, the venv with the runtime dependencies (no dev tools), and the part of Coq that
# runs: coqtop (checks certificates), coqc and coqdep (compile a kernel mounted at run time,
# e.g. from a ConfigMap, into the writable PXL_CACHE_DIR), the plugins they load (.cmxs and
# their findlib META files, found through /etc/ocamlfind.conf) and the compiled standard
# library (.vo files only). No compiler, no OCaml toolchain, no sources.
#
# The server reads the prebuilt kernel (PXL_PREBUILT_KERNELS) without compiling it again,
# even when PXL_CACHE_DIR is an empty volume (Kubernetes mounts an emptyDir there: the root
# filesystem is read-only).
#   docker build -t pxl-prover .
#   docker run -p 8088:8088 pxl-prover
# Where PyPI is reached through a TLS-intercepting proxy, pass its CA bundle as a build
# secret (used by pip for that one step, never stored in the image):
#   docker build --secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt -t pxl-prover .
# Without Docker: scripts/build-images.sh builds it with buildah; tests/test_images.py checks it.

FROM debian:bookworm-slim AS build
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends coq python3 python3-venv >/dev/null
# Coq's run-time files, staged under /coq-runtime for one COPY into the runtime stage
# (before the sources come in, so a code change does not stage them again).
RUN mkdir -p /coq-runtime/usr/bin /coq-runtime/etc /coq-runtime/usr/lib/ocaml \
    && cp /usr/bin/coqtop /usr/bin/coqc /usr/bin/coqdep /coq-runtime/usr/bin/ \
    && cp /etc/ocamlfind.conf /coq-runtime/etc/ \
    && cd /usr/lib/ocaml \
    && find coq-core coq \( -name '*.cmxs' -o -name META -o -name '*.vo' \) -print \
       | tar -cf - -T - | tar -xf - -C /coq-runtime/usr/lib/ocaml
WORKDIR /src
COPY pyproject.toml ./
# The runtime dependencies (pyproject's base set, not [dev]) in a layer of their own, so
# that changing the code does not download them again.
RUN --mount=type=secret,id=ca-bundle,required=false \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python3 -m venv /opt/pxl/venv \
    && python3 -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' >/tmp/requirements.txt \
    && /opt/pxl/venv/bin/pip install -q -r /tmp/requirements.txt
COPY README.md ./
COPY src/ src/
# pip and setuptools are not needed once the package is in.
RUN --mount=type=secret,id=ca-bundle,required=false \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && /opt/pxl/venv/bin/pip install -q --no-deps . \
    && /opt/pxl/venv/bin/pip uninstall -y -q pip setuptools
# The built-in kernel's sources came in with the package (package data); compile them into
# the prebuilt cache (readable by every user: the server runs unprivileged).
RUN PXL_CACHE_DIR=/opt/pxl/prebuilt /opt/pxl/venv/bin/python -m pxl_prover.kernel build

FROM debian:bookworm-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/pxl/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PXL_CACHE_DIR=/var/cache/pxl \
    PXL_PREBUILT_KERNELS=/opt/pxl/prebuilt \
    PXL_SERVER_HOST=0.0.0.0 \
    PXL_SERVER_PORT=8088
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       python3 libgmp10 >/dev/null \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
    && useradd --system --uid 10001 --user-group --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin pxl \
    && mkdir -p "$PXL_CACHE_DIR" \
    && chown 10001:10001 "$PXL_CACHE_DIR"
COPY --from=build /coq-runtime/ /
COPY --from=build /opt/pxl/ /opt/pxl/
WORKDIR /opt/pxl
USER 10001:10001
EXPOSE 8088
STOPSIGNAL SIGTERM
# Healthy means ready: /ready answers 200 only once the kernel is loaded and the pool of
# Coq sessions is up (/health only says the process answers).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/pxl/venv/bin/python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('PXL_SERVER_PORT', '8088'), timeout=4)"]
ENTRYPOINT ["/opt/pxl/venv/bin/pxl-prover"]
CMD ["serve"]
