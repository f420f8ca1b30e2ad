"""The prover and operator images, built from this checkout and run as Kubernetes runs them.

Runs where Debian's buildah and podman are installed (scripts/test.sh installs them with
scripts/install-image-tools.sh). scripts/build-images.sh builds both images without Docker,
from a base made locally with mmdebstrap. The prover container is then started with what
the operator's pod template says (`pxl-operator render` of this checkout): its user and
group, a read-only root filesystem, its emptyDir mounts as new 0777 folders, all capabilities
dropped, no privilege escalation, its env. Podman runs containers with runc (crun fails on
some hosts' cgroups) and explicit rlimits (its defaults fail where the host's are lower).
"""

from __future__ import annotations

import concurrent.futures
import json
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from goals import memory_hungry_goal, random_goal
from kubernetes.utils import parse_quantity
from prometheus_client.parser import text_string_to_metric_families

from pxl_prover.kernel import BUILTIN_KERNEL_DIR, kernel_hash

REPO = Path(__file__).resolve().parent.parent
PROVER_IMAGE = "localhost/pxl-prover:local"
OPERATOR_IMAGE = "localhost/pxl-operator:local"
# Image size budgets (MB, as `podman images` counts them).
PROVER_BUDGET_MB = 350
OPERATOR_BUDGET_MB = 200
READY_WITHIN_S = 120  # a bound for a hung start, not a speed target

pytestmark = pytest.mark.skipif(
    shutil.which("buildah") is None or shutil.which("podman") is None,
    reason="needs buildah and podman (bash scripts/install-image-tools.sh)",
)

PODMAN = ["podman", "--runtime", "runc"]
# Explicit rlimits: podman's defaults exceed what some hosts let a container set.
ULIMITS = ["--ulimit", "nofile=8192:8192", "--ulimit", "nproc=4096:4096"]


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("timeout", 120)
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


_builds: list[subprocess.CompletedProcess[str]] = []


@pytest.fixture(scope="module")
def images() -> None:
    """Both images, built from this checkout (layers cached by buildah between runs).

    Built once per run: pytest calls a failed fixture again for every test, and a failed
    build is not retried."""
    if not _builds:
        _builds.append(run(["bash", str(REPO / "scripts" / "build-images.sh")], timeout=1500))
        print(_builds[0].stdout, end="")
    done = _builds[0]
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def render(yaml_text: str, command: list[str]) -> subprocess.CompletedProcess[str]:
    """`pxl-operator render -f -` through `command` (the checkout's, or the image's)."""
    return run([*command, "render", "-f", "-"], input=yaml_text)


CHECKOUT_OPERATOR = [sys.executable, "-m", "pxl_operator.cli"]


def deployment_of(yaml_text: str) -> dict[str, Any]:
    done = render(yaml_text, CHECKOUT_OPERATOR)
    assert done.returncode == 0, done.stderr
    (found,) = (d for d in yaml.safe_load_all(done.stdout) if d and d["kind"] == "Deployment")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Container:
    name: str
    url: str
    started: float

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def state(self) -> dict[str, Any]:
        done = run(["podman", "inspect", "--format", "{{json .State}}", self.name])
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def logs(self) -> str:
        done = run(["podman", "logs", self.name])
        return (done.stdout + done.stderr)[-4000:]

    def wait_ready(self) -> tuple[float, dict[str, Any]]:
        """Seconds from `podman run` to /ready answering 200, and its body."""
        return self.wait_for("/ready")

    def wait_for(self, path: str) -> tuple[float, dict[str, Any]]:
        """Seconds from `podman run` to `path` answering 200, and its body."""
        deadline = self.started + READY_WITHIN_S
        last: Any = None
        while time.monotonic() < deadline:
            try:
                status, body = self.get(path)
                if status == 200:
                    return time.monotonic() - self.started, body
                last = (status, body)
            except (OSError, ValueError) as exc:
                last = exc
            assert self.state()["Running"], f"the container exited:\n{self.logs()}"
            time.sleep(0.05)
        raise AssertionError(f"{path} not 200 after {READY_WITHIN_S} s: {last}\n{self.logs()}")


def pod_spec_args(
    deployment: dict[str, Any], scratch: Path, kernel_mount: Path | None
) -> list[str]:
    """`podman run` options that do what the Deployment's pod template says; its emptyDir
    volumes are new folders under `scratch`."""
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security, pod_security = container["securityContext"], pod["securityContext"]
    args = ["--user", f"{pod_security['runAsUser']}:{pod_security['runAsGroup']}"]
    if pod_security.get("fsGroup") is not None:
        args += ["--group-add", str(pod_security["fsGroup"])]
    if security.get("readOnlyRootFilesystem"):
        args += ["--read-only", "--read-only-tmpfs=false"]
    args += [f"--cap-drop={cap}" for cap in security["capabilities"]["drop"]]
    if security.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    # RuntimeDefault is what podman applies unless told otherwise.
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:
            # What the kubelet makes of an emptyDir: a new empty host folder, mode 0777.
            folder = scratch / mount["name"]
            folder.mkdir()
            folder.chmod(0o777)
            args += ["--mount", f"type=bind,source={folder},destination={mount['mountPath']}"]
        elif "configMap" in volume:
            assert kernel_mount is not None, "the pod mounts a ConfigMap; give its files"
            args += ["--volume", f"{kernel_mount}:{mount['mountPath']}:ro"]
        else:
            raise AssertionError(f"no podman equivalent written for volume {volume}")
    for env in container["env"]:
        assert "value" in env, f"env {env['name']} comes from elsewhere: not emulated here"
        args += ["--env", f"{env['name']}={env['value']}"]
    # What the kubelet enforces of `resources` (requests only place the pod): the memory
    # limit is the container's memory cgroup limit, past which the kernel kills a process.
    limits = container["resources"].get("limits", {})
    if "memory" in limits:
        args += ["--memory", str(int(parse_quantity(limits["memory"])))]
    if "cpu" in limits:
        args += ["--cpus", str(parse_quantity(limits["cpu"]))]
    return args


@pytest.fixture
def start_prover(images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start the prover image as `deployment` says; removed again after the test."""
    names: list[str] = []

    def start(deployment: dict[str, Any], kernel_mount: Path | None = None, **extra_env: str):
        name = f"pxl-image-check-{uuid.uuid4().hex[:8]}"
        port = free_port()
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        (http,) = (p for p in container["ports"] if p["name"] == "http")
        env = [arg for key, value in extra_env.items() for arg in ("--env", f"{key}={value}")]
        started = time.monotonic()
        done = run(
            [
                *PODMAN, "run", "--detach", "--name", name, *ULIMITS,
                # The HEALTHCHECK is run on demand (`podman healthcheck run`), not by a
                # systemd timer, which a host without systemd does not have.
                "--health-interval", "disable",
                "--publish", f"127.0.0.1:{port}:{http['containerPort']}",
                *pod_spec_args(deployment, tmp_path_factory.mktemp("pod"), kernel_mount),
                *env, PROVER_IMAGE,
            ]
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        names.append(name)
        return Container(name, f"http://127.0.0.1:{port}", started)

    yield start
    for name in names:
        run(["podman", "rm", "--force", "--time", "0", name])


MINIMAL = (REPO / "examples" / "minimal.yaml").read_text()


def test_image_sizes_stay_within_budget(images: None) -> None:
    for image, budget in ((PROVER_IMAGE, PROVER_BUDGET_MB), (OPERATOR_IMAGE, OPERATOR_BUDGET_MB)):
        done = run(["podman", "image", "inspect", "--format", "{{.Size}}", image])
        assert done.returncode == 0, done.stderr
        size_mb = int(done.stdout) / 1e6
        print(f"{image}: {size_mb:.0f} MB")
        assert size_mb <= budget, f"{image} is {size_mb:.0f} MB, over its {budget} MB budget"


def test_prover_runs_as_the_pod_spec_says_proves_refutes_and_stops_on_sigterm(
    start_prover,
) -> None:
    deployment = deployment_of(MINIMAL)
    prover = start_prover(deployment)
    seconds, ready = prover.wait_ready()
    print(f"start to /ready: {seconds:.2f} s")
    assert ready["kernel_hash"] == checkout_kernel_hash()

    status, proved = prover.post("/prove", {"goal": "BOX(A -> A)"})
    assert status == 200, proved
    assert (proved["verdict"], proved["verified"]) == ("proved", True), proved
    status, refuted = prover.post("/prove", {"goal": "DIA A -> BOX A"})
    assert status == 200, refuted
    assert (refuted["verdict"], refuted["verified"]) == ("refuted", True), refuted
    assert proved["kernel_hash"] == refuted["kernel_hash"] == ready["kernel_hash"]

    healthcheck = run(["podman", "healthcheck", "run", prover.name])
    assert healthcheck.returncode == 0, healthcheck.stdout + healthcheck.stderr

    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    stopped = run(["podman", "stop", "--time", str(grace), prover.name], timeout=grace + 30)
    assert stopped.returncode == 0, stopped.stderr
    state = prover.state()
    assert not state["Running"]
    assert state["ExitCode"] == 0, f"SIGTERM did not stop it cleanly: {state}\n{prover.logs()}"
    assert "received SIGTERM" in prover.logs()


def checkout_kernel_hash() -> str:
    """What `pxl kernel-hash` says of the checkout's kernel."""
    pxl = Path(sys.executable).parent / "pxl"
    done = run([str(pxl), "kernel-hash", str(BUILTIN_KERNEL_DIR)])
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_healthcheck_means_ready(start_prover) -> None:
    done = run(["podman", "image", "inspect", PROVER_IMAGE])
    assert done.returncode == 0, done.stderr
    (image,) = json.loads(done.stdout)
    assert "/ready" in " ".join(image["Healthcheck"]["Test"])
    # A prover told to expect another kernel never becomes ready, so it is not healthy.
    prover = start_prover(deployment_of(MINIMAL), PXL_EXPECTED_KERNEL_HASH="0" * 64)
    prover.wait_for("/health")  # up and answering
    status, body = prover.get("/ready")
    assert status == 503, body
    healthcheck = run(["podman", "healthcheck", "run", prover.name])
    assert healthcheck.returncode != 0, healthcheck.stdout


def test_prover_compiles_a_configmap_kernel_at_start(start_prover, tmp_path: Path) -> None:
    # The ConfigMap's files, as the kubelet mounts them: one file per key, read-only.
    kernel = tmp_path / "kernel"
    kernel.mkdir()
    for source in sorted(BUILTIN_KERNEL_DIR.glob("*.v")):
        (kernel / source.name).write_bytes(source.read_bytes())
    syntax = kernel / "Syntax.v"
    syntax.write_text(syntax.read_text() + "\n(* a ConfigMap edit: a new kernel hash *)\n")
    kernel.chmod(0o755)
    tmp_path.chmod(0o755)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "pxl-kernel"},
        "data": {path.name: path.read_text() for path in sorted(kernel.iterdir())},
    }
    custom = (REPO / "examples" / "custom-kernel.yaml").read_text()
    deployment = deployment_of(custom + "\n---\n" + yaml.safe_dump(configmap))
    prover = start_prover(deployment, kernel_mount=kernel)
    seconds, ready = prover.wait_ready()
    print(f"start to /ready with a ConfigMap kernel compiled at start: {seconds:.2f} s")
    assert ready["kernel_hash"] == kernel_hash(kernel) != checkout_kernel_hash()
    status, proved = prover.post("/prove", {"goal": "BOX(A -> A)"})
    assert (status, proved["verdict"], proved["verified"]) == (200, "proved", True), proved


def test_prover_under_load_stays_within_the_pods_memory_limit(start_prover) -> None:
    # The pod's memory limit is its cgroup's: with every Coq session busy and sessions
    # being recycled (one more session while a successor starts), no process may be
    # killed for memory. A session killed mid-check would answer `unknown` and restart.
    deployment = deployment_of(MINIMAL)
    # (A goal waits for a session as long as it takes: this test is about memory, not 429s.)
    prover = start_prover(
        deployment, PXL_SESSION_MAX_USES=str(RECYCLE_AFTER_USES), PXL_POOL_WAIT="60"
    )
    prover.wait_ready()
    goals = uncached_goals(random.Random(15), LOAD_GOALS)
    with concurrent.futures.ThreadPoolExecutor(LOAD_CLIENTS) as clients:
        answers = list(clients.map(lambda goal: prover.post("/prove", {"goal": goal}), goals))
    unverified = [(status, body) for status, body in answers if not body.get("verified")]
    assert not unverified, f"{len(unverified)} of {len(goals)}, e.g. {unverified[:3]}"
    state = prover.state()
    assert state["Running"] and not state["OOMKilled"], state
    restarts = session_restarts(prover)
    print(f"{len(goals)} uncached goals, session restarts {restarts}, {memory_peak(state)}")
    assert restarts["recycled"] >= 1, "no session was recycled: the test missed its moment"
    assert restarts["died"] == restarts["memory"] == 0, (restarts, prover.logs())


# Two sessions (about 280 MB each at their peak, while the canary runs) and the server fit
# in 760 MiB; a session checking this goal's certificate needs about 660 MB, which even
# beside one idle session never fits.
SMALL_POD = """
apiVersion: pxl.logos.dev/v1alpha1
kind: PXLProver
metadata:
  name: pxl
spec:
  pool:
    size: 2
  resources:
    requests: {cpu: 500m, memory: 512Mi}
    limits: {memory: 760Mi}
"""


def test_a_check_that_overfills_the_pods_memory_is_unknown_memory_not_an_error(
    start_prover,
) -> None:
    # The kernel's OOM killer ends the session checking it (the pod's biggest process), and
    # the one the check is retried on: the user gets `unknown` for memory, not an error, and
    # the certificate is not given another session to kill when asked again.
    prover = start_prover(deployment_of(SMALL_POD))
    prover.wait_ready()
    request = {"goal": memory_hungry_goal(), "logic": "K", "timeout_ms": 60_000}
    status, answer = prover.post("/prove", request)
    assert status == 200, answer
    reason = (answer.get("limits") or {}).get("reason")
    assert (answer["verdict"], reason) == ("unknown", "memory"), {**answer, "goal": "..."}
    killed = session_restarts(prover)
    print(f"session restarts after the first request: {killed}")
    assert killed["memory"] == 2 and killed["died"] == 0, killed
    status, again = prover.post("/prove", request)
    assert (status, again["verdict"], again["limits"]["reason"]) == (200, "unknown", "memory")
    assert session_restarts(prover) == killed
    assert prover.state()["Running"]
    status, proved = prover.post("/prove", {"goal": "BOX(q -> q)", "logic": "K"})
    assert (status, proved["verdict"], proved["verified"]) == (200, "proved", True), proved


LOAD_CLIENTS = 8
LOAD_GOALS = 2400
RECYCLE_AFTER_USES = 200


def uncached_goals(rng: random.Random, count: int) -> list[str]:
    """`count` random goals of different shapes: the cache knows a goal by its shape (atoms
    renamed), so only a new shape is searched and checked by Coq."""
    goals: dict[str, None] = {}
    while len(goals) < count:
        goals[random_goal(rng, 4)] = None
    return list(goals)


def session_restarts(prover: Container) -> dict[str, float]:
    """`logos_pxl_session_restarts` by reason, from the Prometheus exposition."""
    with urllib.request.urlopen(prover.url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    (family,) = (
        f for f in text_string_to_metric_families(text) if f.name == "logos_pxl_session_restarts"
    )
    return {s.labels["reason"]: s.value for s in family.samples if s.name.endswith("_total")}


def memory_peak(state: dict[str, Any]) -> str:
    """The container's memory cgroup peak against its limit, where the host shows it."""
    try:
        (line,) = (
            line
            for line in Path(f"/proc/{state['Pid']}/cgroup").read_text().splitlines()
            if line.split(":")[1] == "memory"
        )
        group = Path("/sys/fs/cgroup/memory") / line.split(":", 2)[2].lstrip("/")
        peak = int((group / "memory.max_usage_in_bytes").read_text())
        limit = int((group / "memory.limit_in_bytes").read_text())
    except (OSError, ValueError):
        return "memory peak not readable here"
    return f"memory peak {peak / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB"


@pytest.mark.parametrize("example", sorted(p.name for p in (REPO / "examples").glob("*.yaml")))
def test_operator_image_renders_what_the_checkout_renders(images: None, example: str) -> None:
    text = (REPO / "examples" / example).read_text()
    image = [*PODMAN, "run", "--rm", "--interactive", *ULIMITS, OPERATOR_IMAGE]
    from_image, from_checkout = render(text, image), render(text, CHECKOUT_OPERATOR)
    assert from_image.returncode == from_checkout.returncode, from_image.stderr
    assert from_image.stdout == from_checkout.stdout
    assert from_checkout.stdout.strip() or from_checkout.returncode != 0


def test_operator_image_starts_and_looks_for_a_cluster(images: None) -> None:
    # Every import of `pxl-operator run` works in the slimmed image; with no cluster it
    # stops on the missing credentials, as it does from the checkout.
    done = run([*PODMAN, "run", "--rm", *ULIMITS, OPERATOR_IMAGE, "run"], timeout=60)
    assert done.returncode != 0
    assert "no Kubernetes credentials" in done.stdout + done.stderr, done.stderr[-3000:]
    assert "ImportError" not in done.stderr and "ModuleNotFoundError" not in done.stderr
