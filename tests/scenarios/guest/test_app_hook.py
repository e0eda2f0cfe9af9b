"""The hook that makes a user's program resolve the cloud's names through the shared resolver, and only then.

A small fake resolver (dnspython on a real UDP socket, port picked by the kernel) answers `a.cloud.test` with two
addresses (TTL 5), `empty.cloud.test` with NODATA (SOA negative TTL 3) and anything else with NXDOMAIN, and counts
the queries it gets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from reports.columns import LOOKUP_OUTCOMES
from scenarios.guest.app_hook import cascadesim_names
from scenarios.guest.program import HOOK_DIR

pytestmark = pytest.mark.live


class FakeResolver:
    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.socket.getsockname()
        self.queries: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                wire, peer = self.socket.recvfrom(512)
            except OSError:
                return
            query = dns.message.from_wire(wire)
            name = query.question[0].name.to_text(omit_final_dot=True)
            self.queries.append(name)
            reply = dns.message.make_response(query)
            if name == "a.cloud.test":
                reply.answer.append(dns.rrset.from_text(name + ".", 5, "IN", "A", "127.0.1.1", "127.0.1.2"))
            else:
                if name != "empty.cloud.test":
                    reply.set_rcode(dns.rcode.NXDOMAIN)
                soa = "ns.cloud.test. hostmaster.cloud.test. 1 60 60 60 3"
                reply.authority.append(dns.rrset.from_text("cloud.test.", 3, "IN", "SOA", soa))
            self.socket.sendto(reply.to_wire(), peer)

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def resolver() -> Iterator[FakeResolver]:
    fake = FakeResolver()
    yield fake
    fake.close()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cloud_names_resolve_through_the_resolver_and_keep_their_ttl(resolver: FakeResolver, tmp_path: Path) -> None:
    """A cloud name's addresses come from the resolver, kept for the TTL, asked again after it; other names go to
    the system's resolver; uninstall puts the original function back; every lookup is logged."""
    clock = Clock()
    names = cascadesim_names.CloudNames(resolver.address, clock=clock, log_dir=str(tmp_path))
    original = socket.getaddrinfo
    cascadesim_names.install(names)
    try:
        found = socket.getaddrinfo("a.cloud.test", 8000, 0, socket.SOCK_STREAM)
        assert sorted(info[4] for info in found) == [("127.0.1.1", 8000), ("127.0.1.2", 8000)]
        assert found[0][:3] == (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        socket.getaddrinfo("A.Cloud.Test.", "8000")  # the same name, kept: no query
        assert resolver.queries == ["a.cloud.test"]
        clock.now += 5.1
        socket.getaddrinfo("a.cloud.test", 80)
        assert resolver.queries == ["a.cloud.test", "a.cloud.test"]
        assert socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0] == "127.0.0.1"
        assert resolver.queries == ["a.cloud.test", "a.cloud.test"]
    finally:
        cascadesim_names.uninstall()
        names.close()
    assert socket.getaddrinfo is original and not cascadesim_names.installed()
    (log,) = tmp_path.glob("lookups-*.csv")
    assert [line.split(",")[1:] for line in log.read_text().splitlines()] == [["a.cloud.test", "answered"]] * 3


def test_an_empty_record_fails_as_glibc_does_and_is_kept_for_the_negative_ttl(resolver: FakeResolver) -> None:
    """NODATA raises EAI_NODATA ("No address associated with hostname"), NXDOMAIN EAI_NONAME; both are kept for
    the SOA's negative TTL (3 s here), then asked again; an IPv6-only lookup of a cloud name finds nothing."""
    clock = Clock()
    cascadesim_names.install(cascadesim_names.CloudNames(resolver.address, clock=clock))
    try:
        with pytest.raises(socket.gaierror) as empty:
            socket.getaddrinfo("empty.cloud.test", 8000)
        assert empty.value.errno == socket.EAI_NODATA
        assert "No address associated with hostname" in str(empty.value)
        with pytest.raises(socket.gaierror) as missing:
            socket.getaddrinfo("nothing.cloud.test", 8000)
        assert missing.value.errno == socket.EAI_NONAME
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("empty.cloud.test", 8000)
        assert resolver.queries == ["empty.cloud.test", "nothing.cloud.test"]
        clock.now += 3.1
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("empty.cloud.test", 8000)
        assert resolver.queries[-1] == "empty.cloud.test" and len(resolver.queries) == 3
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("a.cloud.test", 8000, socket.AF_INET6)
    finally:
        cascadesim_names.uninstall()


def test_no_resolver_is_a_temporary_failure(tmp_path: Path) -> None:
    """A resolver that does not answer is EAI_AGAIN ("Temporary failure in name resolution"), as with glibc."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        names = cascadesim_names.CloudNames(silent.getsockname(), timeout=0.05)
        cascadesim_names.install(names)
        try:
            with pytest.raises(socket.gaierror) as failure:
                socket.getaddrinfo("a.cloud.test", 8000)
        finally:
            cascadesim_names.uninstall()
    assert failure.value.errno == socket.EAI_AGAIN


def test_the_lookup_outcomes_are_the_reports_columns() -> None:
    """The hook cannot import reports/columns.py (it runs in the user's interpreter): their names agree."""
    hook = (
        cascadesim_names.ANSWERED,
        cascadesim_names.NO_ADDRESS,
        cascadesim_names.NO_SUCH_NAME,
        cascadesim_names.RESOLVER_UNAVAILABLE,
    )
    assert hook == LOOKUP_OUTCOMES


PROBE = "import socket, sitecustomize; print(getattr(socket.getaddrinfo, '__cascadesim_names__', False))"


def _python(code: str, env: dict[str, str], interpreter: str = sys.executable) -> list[str]:
    done = subprocess.run([interpreter, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_startup_hook_acts_only_when_told_and_runs_the_sitecustomize_it_shadows(
    resolver: FakeResolver, tmp_path: Path
) -> None:
    """With the hook's directory first on PYTHONPATH and CASCADESIM_RESOLVER set, a fresh Python resolves the cloud's
    names through the resolver; without the variable it changes nothing; either way the sitecustomize further down
    the path still runs."""
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import builtins\nbuiltins.THEIRS_RAN = True\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("CASCADESIM_")}
    base["PYTHONPATH"] = os.pathsep.join([str(HOOK_DIR), str(theirs)])
    code = PROBE + "; print(getattr(__builtins__, 'THEIRS_RAN', False))"
    assert _python(code, base) == ["False", "True"]
    told = base | {"CASCADESIM_RESOLVER": f"{resolver.address[0]}:{resolver.address[1]}"}
    assert _python(code + "; print(socket.getaddrinfo('a.cloud.test', 80)[0][4][0][:8])", told) == [
        "True",
        "True",
        "127.0.1.",
    ]


def test_installing_cascadesim_changes_no_other_program(tmp_path: Path) -> None:
    """A Python that was not started by `cascadesim exec` resolves names as before, with cascadesim installed: no
    .pth file patches it, and loading the pytest plugin (as pytest does in every run) imports none of cascadesim's
    packages, so a project's own `scenarios` package is still the one its tests import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASCADESIM_") and k != "PYTHONPATH"}
    code = "import socket, sys, cascadesim_pytest; print(socket.getaddrinfo.__module__, 'scenarios' in sys.modules)"
    assert _python(code, env) == ["socket", "False"]
    patched = [p for p in Path(sys.prefix).glob("lib/python*/site-packages/*.pth") if "app_hook" in p.read_text()]
    assert not patched
    project = tmp_path / "project"
    (project / "scenarios").mkdir(parents=True)
    (project / "scenarios" / "__init__.py").write_text("MINE = True\n")
    (project / "test_mine.py").write_text(
        "import socket, scenarios\n\n\ndef test_mine():\n    assert scenarios.MINE\n"
        "    assert socket.getaddrinfo.__module__ == 'socket'\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "1 passed" in done.stdout, done.stdout + done.stderr


def test_bytes_names_and_numeric_only_lookups_are_answered_as_glibc_would(resolver: FakeResolver) -> None:
    """anyio and trio pass the host as bytes: a cloud name in bytes resolves through the resolver too; with
    AI_NUMERICHOST a name is EAI_NONAME at once, without a query."""
    cascadesim_names.install(cascadesim_names.CloudNames(resolver.address))
    try:
        host = cast(str, socket.getaddrinfo(b"a.cloud.test", 80, socket.AF_INET)[0][4][0])  # AF_INET: (host, port)
        assert host.startswith("127.0.1.")
        with pytest.raises(socket.gaierror) as numeric:
            socket.getaddrinfo("empty.cloud.test", 80, flags=socket.AI_NUMERICHOST)
    finally:
        cascadesim_names.uninstall()
    assert numeric.value.errno == socket.EAI_NONAME
    assert resolver.queries == ["a.cloud.test"]


@pytest.mark.skipif(
    not Path("/usr/bin/python3").exists()
    or subprocess.run(["/usr/bin/python3", "-c", "import dns"], capture_output=True).returncode == 0,
    reason="needs a Python without dnspython (Debian's /usr/bin/python3)",
)
def test_a_python_without_dnspython_borrows_cascadesims(resolver: FakeResolver, tmp_path: Path) -> None:
    """The user's interpreter may lack dnspython: the hook then adds a directory holding only cascadesim's, last on
    the path, and resolves as before (Debian's own sitecustomize still runs)."""
    from scenarios.guest.program import program_environment

    env = program_environment({"dynamodb": "http://x.cloud.test:8000"}, resolver.address, tmp_path, "0.0 0.0")
    code = PROBE + "; print(socket.getaddrinfo('a.cloud.test', 80)[0][4][0][:8])"
    assert _python(code, env, "/usr/bin/python3") == ["True", "127.0.1."]
