"""Hosts that share no disk on one machine: network namespaces for the CeleryExecutor test.

``Hosts`` makes a *control* address in the root namespace (a /32 on ``lo``: the api-server, Redis
and the forwarders listen there) and one namespace per other host (``worker1``, ``worker2``,
``storage``), each joined to the root namespace by a veth pair, with a default route through it.
A worker reaches the control address through its veth (the root namespace delivers it locally, no
IP forwarding is turned on), and the storage host through a forwarder on the control address, so
every process uses the same URLs. ``kill_host()`` is a host loss: SIGKILL to every process of the
namespace, then its link is cut. ``close()`` kills what is left and deletes every namespace and
address, also after a failure.

Run as ``python -m tests.e2e.celery_hosts LISTEN_HOST:PORT=TARGET_HOST:PORT ...`` it is the TCP
forwarder: PostgreSQL listens on loopback only, moto on the storage namespace only.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time


def namespaces_unavailable() -> str | None:
    """Why network namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if not shutil.which("ip") or not shutil.which("unshare"):
        return "iproute2 (ip) and unshare are needed"
    probe = f"ozcprobe{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _free_subnet() -> int:
    """A second octet whose 10.N.0.0/16 no interface of this machine uses."""
    used = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
    free = [n for n in range(100, 250) if f"inet 10.{n}." not in used]
    return random.choice(free)


class Hosts:
    """The control address and one namespace per named host (see the module docstring)."""

    def __init__(self, names: list[str]) -> None:
        self.tag = secrets.token_hex(2)
        self.net = _free_subnet()
        self.control = f"10.{self.net}.0.1"
        self.names = names
        self.namespaces = {name: f"ozc{self.tag}-{name}" for name in names}
        self.addresses = {name: f"10.{self.net}.{index}.2" for index, name in enumerate(names, 1)}
        self._links = {name: f"ozc{self.tag}h{index}" for index, name in enumerate(names, 1)}
        self._forwarders: list[subprocess.Popen[bytes]] = []

    def create(self) -> Hosts:
        _ip("addr", "add", f"{self.control}/32", "dev", "lo")
        for index, name in enumerate(self.names, 1):
            ns, link, peer = self.namespaces[name], self._links[name], f"ozc{self.tag}p{index}"
            _ip("netns", "add", ns)
            _ip("link", "add", link, "type", "veth", "peer", "name", peer)
            _ip("link", "set", peer, "netns", ns)
            _ip("addr", "add", f"10.{self.net}.{index}.1/30", "dev", link)
            _ip("link", "set", link, "up")
            _ip("-n", ns, "addr", "add", f"{self.addresses[name]}/30", "dev", peer)
            _ip("-n", ns, "link", "set", peer, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "route", "add", "default", "via", f"10.{self.net}.{index}.1")
        return self

    def command(self, name: str, argv: list[str]) -> list[str]:
        """``argv`` run on host ``name``: in its namespace, with its own hostname (a UTS namespace)."""
        return [
            "ip", "netns", "exec", self.namespaces[name],
            "unshare", "--uts", "--",
            "sh", "-c", 'hostname "$0" && exec "$@"', name, *argv,
        ]  # fmt: skip

    def forward(self, routes: dict[tuple[str, int], tuple[str, int]], on: str | None = None) -> None:
        """One forwarder process for every ``(listen host, port) -> (target host, port)``, in the
        root namespace or on host ``on`` (a service that names itself 127.0.0.1, as a Kafka broker
        does in its metadata, is reached there through its own loopback address)."""
        args = [f"{lh}:{lp}={th}:{tp}" for (lh, lp), (th, tp) in routes.items()]
        argv = [sys.executable, "-m", "tests.e2e.celery_hosts", *args]
        process = subprocess.Popen(
            argv if on is None else self.command(on, argv),
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        self._forwarders.append(process)
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"listening":
            raise RuntimeError(f"the forwarder {args} did not start (exit {process.wait()})")

    def pids(self, name: str) -> list[int]:
        listed = subprocess.run(
            ["ip", "netns", "pids", self.namespaces[name]], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in listed.split()]

    def kill_host(self, name: str) -> list[int]:
        """Host loss: SIGKILL every process of the namespace and cut its link. Returns the pids killed."""
        killed = self._kill_all(name)
        subprocess.run(["ip", "link", "del", self._links[name]], capture_output=True)
        return killed

    def _kill_all(self, name: str) -> list[int]:
        killed: list[int] = []
        for _ in range(20):  # a dying process may have forked: repeat until the namespace is empty
            pids = self.pids(name)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        return killed

    def close(self) -> None:
        """Kills every process left in the namespaces and the forwarder; deletes namespaces and address."""
        for name in self.names:
            self._kill_all(name)
            subprocess.run(["ip", "netns", "del", self.namespaces[name]], capture_output=True)
            subprocess.run(["ip", "link", "del", self._links[name]], capture_output=True)
        for forwarder in self._forwarders:
            try:
                os.killpg(forwarder.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            forwarder.wait(timeout=10)
        subprocess.run(["ip", "addr", "del", f"{self.control}/32", "dev", "lo"], capture_output=True)

    def __enter__(self) -> Hosts:
        try:
            return self.create()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the forwarder -----------------------------------------------------------------------------------
async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _serve(listen: tuple[str, int], target: tuple[str, int]) -> asyncio.Server:
    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    return await asyncio.start_server(connect, *listen)


async def _forward(routes: list[str]) -> None:
    servers = []
    for route in routes:
        listen, target = (part.rsplit(":", 1) for part in route.split("="))
        servers.append(await _serve((listen[0], int(listen[1])), (target[0], int(target[1]))))
    print("listening", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    asyncio.run(_forward(sys.argv[1:]))
