"""Shared pytest set-up. Keep it small: fixtures belong next to the tests that use them,
unless several modules use them."""

from hypothesis import settings

# The suite shares a small machine with other work: judge behaviour, not wall-clock time.
settings.register_profile("pxl", deadline=None)
settings.load_profile("pxl")


import pytest  # noqa: E402

from pxl_prover.kernel import CompiledKernel, build_kernel  # noqa: E402


@pytest.fixture(scope="session")
def compiled_kernel() -> CompiledKernel:
    """The repository's kernel, compiled (or reused from the build cache)."""
    return build_kernel()


@pytest.fixture(scope="session")
def coq_session(compiled_kernel: CompiledKernel):
    """One long-lived Coq session for the tests that check certificates."""
    from pxl_prover.sessions import CoqSession

    session = CoqSession(compiled_kernel)
    yield session
    session.close()


@pytest.fixture(scope="session")
def prover(coq_session):
    """The whole pipeline (search, certificate, Coq check) on one session."""
    from pxl_prover.engine import Prover

    return Prover(coq_session)


@pytest.fixture()
def emulated(tmp_path, monkeypatch):
    """An emulated cluster (tests/k8s_harness.py), no operator yet."""
    from k8s_harness import Cluster

    cluster = Cluster(tmp_path)
    cluster.start()
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig()))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture()
def cluster(emulated):
    """The emulated cluster with the operator running in this process."""
    emulated.start_operator()
    return emulated


@pytest.fixture()
def clock_jump(monkeypatch) -> list[float]:
    """`time.monotonic` as the code under test reads it, moved on by `clock_jump[0]` seconds
    once a test sets it: a deadline passes at a chosen step, with no sleeping."""
    import time

    real = time.monotonic
    jump = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: real() + jump[0])
    return jump
