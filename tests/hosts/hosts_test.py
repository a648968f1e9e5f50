#!/usr/bin/env python3
"""herd across hosts: the default herd with one Linux network namespace per server.

Each of the five servers gets its own network namespace, its own address
from 198.18.0.0/15 (the range reserved for network tests) and its own host
name (`riley.herd.test`...) in a hosts file of its own: `ip netns exec`
bind-mounts /etc/netns/NS/hosts over /etc/hosts. A veth pair joins each
namespace to a bridge that lives in a namespace of its own too, so the root
namespace is never touched and no packet can leave the namespaces made here.
The harness talks to every server from inside that server's namespace (setns
on a socket), through the text edge only.

Scenarios (each starts a fresh herd; every wait polls with a deadline):
  convergence   a steady load of IAMATs into every server; all five end with
                the same AT line for every client
  partition     one link blackholed, then one server cut off, reports going on
                at both sides; after the heal every server has the same bytes
                for every client and no acknowledged report is lost
  netem         50 ms delay and 5% loss on every host's link (tc netem);
                skipped where the kernel has no sch_netem
  readdress     a server restarts on a new address, its host name updated in
                every hosts file; its neighbours reach it again and floods
                reach it

Each scenario runs per security variant (--variant, both by default):
`insecure` ("insecure": true in the config) and `secure` (tls and auth keys,
certificates from scripts/certs.sh).

Needs root (network namespaces) and iproute2; otherwise it exits 77, which
ctest reports as skipped. Everything it makes is named `herdt<PID>-...` and
removed on exit, even on failure or SIGTERM; leftovers of a run that died
(its PID gone) are removed at the next start.

    sudo python3 tests/hosts/hosts_test.py --herd build/app/herd
    sudo python3 tests/hosts/hosts_test.py --herd build/app/herd --only partition -v
"""

import argparse
import contextlib
import ctypes
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77  # ctest SKIP_RETURN_CODE

PREFIX = "herdt"  # every namespace and /etc/netns folder of this harness
SERVERS = ["Riley", "Jaquez", "Juzang", "Campbell", "Bernard"]
LINKS = [("Riley", "Jaquez"), ("Riley", "Juzang"), ("Bernard", "Jaquez"),
         ("Bernard", "Juzang"), ("Bernard", "Campbell"), ("Juzang", "Campbell")]
DOMAIN = "herd.test"
SUBNET = "198.18.0"  # a /24 inside 198.18.0.0/15
# Every host listens on the same ports, as on real hosts (docs/deploy.md).
EDGE_PORT = 12000
GRPC_PORT = 12100

MAKE_CERTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                          "certs.sh")
VERBOSE = False


def log(message):
    print(f"[hosts {time.strftime('%H:%M:%S')}] {message}", flush=True)


def debug(message):
    if VERBOSE:
        log(message)


class Failure(Exception):
    pass


class Skipped(Exception):
    pass


def run(*args, check=True):
    """Runs a command (no shell); raises with its stderr if it fails."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    debug("$ " + " ".join(args) + (f"  -> {done.returncode}" if done.returncode else ""))
    if check and done.returncode != 0:
        raise Failure(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
    return done


def wait_until(what, condition, timeout, interval=0.05):
    """Polls `condition` until it returns a true value or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise Failure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --- network namespaces -------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def in_netns(ns):
    """Runs the block in network namespace `ns` (this thread only). A socket
    made inside stays in `ns` for its whole life."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
        try:
            yield
        finally:
            if _libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the harness's namespace")
    finally:
        os.close(target)
        os.close(home)


def harness_alive(pid):
    """Whether `pid` is a running instance of this harness (not a zombie, not
    another program that got the number since)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"hosts_test.py" in f.read()
    except (OSError, IndexError):
        return False


def remove_namespace(ns):
    """Kills what runs in `ns`, deletes it and its /etc/netns folder."""
    pids = run("ip", "netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    run("ip", "netns", "delete", ns, check=False)
    shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)


def remove_leftovers():
    """Removes namespaces of earlier runs of this harness whose process is gone."""
    names = set()
    listing = run("ip", "netns", "list", check=False).stdout
    names.update(line.split()[0] for line in listing.splitlines() if line.strip())
    if os.path.isdir("/etc/netns"):
        names.update(os.listdir("/etc/netns"))
    for ns in sorted(names):
        match = re.fullmatch(PREFIX + r"(\d+)-[a-z0-9]+", ns)
        if match and int(match.group(1)) != os.getpid() and not harness_alive(int(match.group(1))):
            log(f"removing {ns}, left by an earlier run that died")
            remove_namespace(ns)
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        match = re.fullmatch(PREFIX + r"(\d+)-\w+", entry)
        if match and int(match.group(1)) != os.getpid() and not harness_alive(int(match.group(1))):
            shutil.rmtree(os.path.join(tmp, entry), ignore_errors=True)


class Network:
    """One namespace per server plus one for the bridge; made in __init__,
    removed by close(). Addresses 198.18.0.11..15, names NAME.herd.test."""

    def __init__(self):
        self.run_id = f"{PREFIX}{os.getpid()}"
        self.bridge_ns = f"{self.run_id}-br"
        self.made = []  # namespaces, in creation order
        self.initial = {name: f"{SUBNET}.{11 + i}" for i, name in enumerate(SERVERS)}
        self.address = dict(self.initial)
        self.blackholes = set()
        self.made_etc_netns = not os.path.isdir("/etc/netns")
        try:
            self._add_ns(self.bridge_ns)
            self._ip(self.bridge_ns, "link", "add", "br0", "type", "bridge")
            self._ip(self.bridge_ns, "link", "set", "br0", "up")
            for i, name in enumerate(SERVERS):
                ns = self.ns(name)
                self._add_ns(ns)
                self._ip(self.bridge_ns, "link", "add", self.port(name), "type", "veth",
                         "peer", "name", "eth0", "netns", ns)
                self._ip(self.bridge_ns, "link", "set", self.port(name), "master", "br0", "up")
                self._ip(ns, "link", "set", "lo", "up")
                self._ip(ns, "addr", "add", f"{self.address[name]}/24", "dev", "eth0")
                self._ip(ns, "link", "set", "eth0", "up")
            self.write_hosts_files()
        except BaseException:
            self.close()
            raise

    def ns(self, name):
        return f"{self.run_id}-{name.lower()}"

    @staticmethod
    def port(name):
        """The bridge's end of `name`'s veth pair."""
        return f"v-{name.lower()}"[:15]

    @staticmethod
    def host(name):
        return f"{name.lower()}.{DOMAIN}"

    def _add_ns(self, ns):
        run("ip", "netns", "add", ns)
        self.made.append(ns)
        # IPv4-only hosts, as the address plan is. With IPv6 on, gRPC's c-ares
        # resolver also asks for AAAA records, which no hosts file here has,
        # and waits about 3 s for the (absent) name server on every dial.
        for conf in ("all", "default"):
            run("ip", "netns", "exec", ns, "sh", "-c",
                f"echo 1 > /proc/sys/net/ipv6/conf/{conf}/disable_ipv6")
        os.makedirs(f"/etc/netns/{ns}", exist_ok=True)
        # Names are all in the hosts file; a lookup that misses must not
        # leave the namespace: the only name server is its own loopback.
        with open(f"/etc/netns/{ns}/resolv.conf", "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")

    @staticmethod
    def _ip(ns, *args):
        return run("ip", "-n", ns, *args)

    def write_hosts_files(self):
        """Every namespace's hosts file names every server. Rewritten in place
        (same inode): running processes see it through their bind mount."""
        text = "127.0.0.1\tlocalhost\n"
        text += "".join(f"{self.address[n]}\t{self.host(n)}\n" for n in SERVERS)
        for ns in self.made:
            path = f"/etc/netns/{ns}/hosts"
            with open(path, "r+" if os.path.exists(path) else "w") as f:
                f.seek(0)
                f.write(text)
                f.truncate()

    def readdress(self, name, address):
        """Moves `name` to `address` and updates every hosts file."""
        ns = self.ns(name)
        self._ip(ns, "addr", "del", f"{self.address[name]}/24", "dev", "eth0")
        self._ip(ns, "addr", "add", f"{address}/24", "dev", "eth0")
        self.address[name] = address
        self.write_hosts_files()

    def cut_link(self, a, b):
        """Silently drops every packet between a and b (both directions), as a
        broken path between two hosts does; other paths stay."""
        for src, dst in ((a, b), (b, a)):
            self._ip(self.ns(src), "route", "add", "blackhole", f"{self.address[dst]}/32")
            self.blackholes.add((src, self.address[dst]))

    def heal_links(self):
        for src, address in sorted(self.blackholes):
            self._ip(self.ns(src), "route", "del", "blackhole", f"{address}/32")
        self.blackholes.clear()

    def isolate(self, name, cut=True):
        """Pulls (or plugs back) `name`'s cable: its port on the bridge."""
        self._ip(self.bridge_ns, "link", "set", self.port(name), "down" if cut else "up")

    def netem_supported(self):
        probe = run("ip", "netns", "exec", self.bridge_ns, "tc", "qdisc", "add", "dev", "lo",
                    "root", "netem", "delay", "1ms", check=False)
        if probe.returncode != 0:
            return False, probe.stderr.strip() or f"exit {probe.returncode}"
        run("ip", "netns", "exec", self.bridge_ns, "tc", "qdisc", "del", "dev", "lo", "root",
            check=False)
        return True, ""

    def netem(self, spec):
        """Applies `tc netem SPEC` to every host's outgoing packets (None: removes)."""
        for name in SERVERS:
            base = ["ip", "netns", "exec", self.ns(name), "tc", "qdisc"]
            if spec is None:
                run(*base, "del", "dev", "eth0", "root", check=False)
            else:
                run(*base, "replace", "dev", "eth0", "root", "netem", *spec.split())

    def close(self):
        for ns in reversed(self.made):
            remove_namespace(ns)
        self.made.clear()
        if self.made_etc_netns:
            with contextlib.suppress(OSError):
                os.rmdir("/etc/netns")


# --- the herd -------------------------------------------------------------------

def security_keys(variant, workdir):
    """Config keys of one security variant (spec section 8).

    insecure: plaintext gRPC on non-loopback addresses, allowed explicitly.
    secure:   mTLS between peers and tokens on the API: a CA and one
              certificate per server from scripts/certs.sh (SANs: the
              server's name and host name) and one token's SHA-256. The
              scenarios need nothing else: the text edge has no
              authentication."""
    if variant == "insecure":
        return {"insecure": True}
    if variant == "secure":
        if shutil.which("openssl") is None:
            raise Skipped("the secure variant needs openssl for its certificates")
        certs = os.path.join(workdir, "tls")
        run("bash", MAKE_CERTS, certs, *[f"{n}={Network.host(n)}" for n in SERVERS])
        token = secrets.token_hex(32)
        with open(os.path.join(certs, "token"), "w") as f:
            f.write(token)
        return {
            "tls": {"ca_file": os.path.join(certs, "ca.pem"),
                    "cert_file": os.path.join(certs, "{name}.pem"),
                    "key_file": os.path.join(certs, "{name}.key")},
            "auth": {"tokens": [{"name": "tests", "roles": ["read", "report", "admin"],
                                 "sha256": hashlib.sha256(token.encode()).hexdigest()}]},
        }
    raise Failure(f"unknown variant {variant!r}")


def make_config(network, workdir, gazetteer, variant):
    return {
        "servers": [{"name": name,
                     "edge": f"{network.host(name)}:{EDGE_PORT}",
                     "grpc": f"{network.host(name)}:{GRPC_PORT}"}
                    for name in SERVERS],
        "links": [list(link) for link in LINKS],
        "places": {"provider": "offline", "gazetteer": gazetteer},
        "log_dir": os.path.join(workdir, "logs"),
        **security_keys(variant, workdir),
    }


class Herd:
    """`herd serve NAME` in each server's namespace, from one generated config."""

    def __init__(self, herd_binary, network, workdir, gazetteer, variant):
        self.binary = herd_binary
        self.net = network
        self.workdir = workdir
        self.config_path = os.path.join(workdir, "herd.json")
        with open(self.config_path, "w") as f:
            json.dump(make_config(network, workdir, gazetteer, variant), f, indent=2)
        self.procs = {}

    def edge_address(self, name):
        return (self.net.address[name], EDGE_PORT)

    def log_path(self, name):
        return os.path.join(self.workdir, "logs", f"{name}.log")

    def start(self, name):
        stderr = open(os.path.join(self.workdir, f"{name}.stderr"), "ab")
        self.procs[name] = subprocess.Popen(
            ["ip", "netns", "exec", self.net.ns(name), self.binary, "serve", name,
             "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        stderr.close()

    def wait_ready(self, name, timeout=15):
        def accepting():
            proc = self.procs[name]
            if proc.poll() is not None:
                raise Failure(f"{name} exited with status {proc.returncode}: "
                              f"{self.stderr_tail(name)}")
            try:
                connect(self.net.ns(name), self.edge_address(name), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until(f"{name}'s edge at {self.edge_address(name)}", accepting, timeout)

    def start_all(self):
        for name in SERVERS:
            self.start(name)
        for name in SERVERS:
            self.wait_ready(name)

    def stop(self, name, sig=signal.SIGTERM, timeout=15):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            raise Failure(f"{name} did not stop within {timeout} s of signal {sig}")

    def stop_all(self):
        errors = []
        for name in list(self.procs):
            try:
                self.stop(name)
            except Failure as e:
                errors.append(str(e))
        if errors:
            raise Failure("; ".join(errors))

    def kill_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        self.procs.clear()

    def stderr_tail(self, name, lines=5):
        path = os.path.join(self.workdir, f"{name}.stderr")
        with contextlib.suppress(OSError), open(path, errors="replace") as f:
            return " | ".join(f.read().splitlines()[-lines:])
        return ""

    def log_text(self, name, offset=0):
        with contextlib.suppress(OSError), open(self.log_path(name), errors="replace") as f:
            f.seek(offset)
            return f.read()
        return ""

    def dump(self):
        for name in SERVERS:
            log(f"--- {name}: stderr: {self.stderr_tail(name)}")
            for line in self.log_text(name).splitlines():
                if " peer " in line or " W " in line or " E " in line:
                    log(f"    {line}")


# --- the text edge ----------------------------------------------------------------

def connect(ns, address, timeout=5):
    with in_netns(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


class Edge:
    """One connection to a server's text edge; commands are pipelined."""

    def __init__(self, herd, name):
        self.name = name
        self.sock = connect(herd.net.ns(name), herd.edge_address(name))
        self.buffer = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure(f"{self.name} closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def iamat(self, reports):
        """reports: [(client, location, time)]; returns their AT lines."""
        self.sock.sendall("".join(f"IAMAT {c} {l} {t}\n" for c, l, t in reports).encode())
        replies = [self._line() for _ in reports]
        for (client, location, when), reply in zip(reports, replies):
            fields = reply.split()
            if fields[:2] != ["AT", self.name] or fields[3:] != [client, location, when]:
                raise Failure(f"{self.name}: IAMAT {client} {location} {when} -> {reply!r}")
        return replies

    def stored(self, clients):
        """The stored AT line of each client (None where the server knows none)."""
        self.sock.sendall("".join(f"WHATSAT {c} 1 1\n" for c in clients).encode())
        out = {}
        for client in clients:
            first = self._line()
            if first.startswith("? "):
                out[client] = None
                continue
            while self._line() != "":  # the JSON runs to a blank line
                pass
            out[client] = first
        return out


class Reports:
    """Acknowledged reports: the AT line a server answered, per client, for
    client times that only grow, so the last acknowledged one must win."""

    def __init__(self, tag):
        self.tag = tag
        self.base = int(time.time())
        self.count = 0
        self.last = {}

    def client(self, i):
        return f"{self.tag}-{i}.client.{DOMAIN}"

    def next(self, i):
        self.count += 1
        lat = 10 + (self.count % 7000) / 1000
        lng = -100 - (i % 900) / 10
        return (self.client(i), f"+{lat:.6f}{lng:+.6f}", f"{self.base}.{self.count:09d}")

    def send(self, herd, edges, server, clients):
        edge = edges.get(server)
        if edge is None:
            edge = edges[server] = Edge(herd, server)
        batch = [self.next(i) for i in clients]
        for (client, _, _), reply in zip(batch, edge.iamat(batch)):
            self.last[client] = reply


def mismatches(herd, expected, servers, limit=3):
    found = []
    clients = sorted(expected)
    for name in servers:
        try:
            edge = Edge(herd, name)
            try:
                stored = edge.stored(clients)
            finally:
                edge.close()
        except (OSError, Failure) as e:  # not reachable yet: ask again
            found.append(f"{name}: {e}")
            continue
        for client in clients:
            if stored[client] != expected[client]:
                found.append(f"{name} has {stored[client]!r} for {client}, "
                             f"expected {expected[client]!r}")
    return found[:limit] if found else []


def wait_converged(herd, expected, servers=SERVERS, timeout=15):
    """Waits until every server of `servers` stores exactly `expected`."""
    start = time.monotonic()
    last = []

    def done():
        nonlocal last
        last = mismatches(herd, expected, servers)
        return not last
    try:
        wait_until(f"{len(expected)} clients to converge on {', '.join(servers)}", done,
                   timeout, interval=0.1)
    except Failure as e:
        raise Failure(f"{e}: " + "; ".join(last))
    return time.monotonic() - start


def close_all(edges):
    for edge in edges.values():
        edge.close()
    edges.clear()


# --- scenarios --------------------------------------------------------------------

def scenario_convergence(herd):
    """A steady load into every server; every server ends with every client."""
    reports, edges = Reports("steady"), {}
    clients, rounds, period = 60, 20, 0.1  # 600 reports/s for 2 s
    try:
        start = time.monotonic()
        for r in range(rounds):
            # Pacing of the load, not a wait for the herd: round r starts at
            # r * period (at once if the previous one ran late).
            time.sleep(max(0.0, start + r * period - time.monotonic()))
            for s, server in enumerate(SERVERS):
                # Client i reports to a different server each round, so the
                # newest record of a client keeps changing origin.
                reports.send(herd, edges, server,
                             [i for i in range(clients) if (i + r) % len(SERVERS) == s])
        load = time.monotonic() - start
    finally:
        close_all(edges)
    took = wait_converged(herd, reports.last, timeout=10)
    return (f"{reports.count} reports in {load:.2f} s into all five servers; "
            f"converged {took:.2f} s after the last one")


def scenario_partition(herd):
    """One link down, then a server cut off, reports at both sides, heal."""
    net = herd.net
    reports, edges = Reports("split"), {}
    everyone = range(30)
    try:
        for server in SERVERS:
            reports.send(herd, edges, server, everyone)
        wait_converged(herd, reports.last, timeout=10)

        # One link down: Riley and Jaquez still hear each other through
        # Juzang and Bernard.
        net.cut_link("Riley", "Jaquez")
        for server in ("Riley", "Jaquez"):
            reports.send(herd, edges, server, everyone)
        took_link = wait_converged(herd, reports.last, timeout=10)

        # Campbell cut off entirely, reports on both sides: clients 0-9 only
        # at the four, 10-19 only at Campbell, 20-29 at both (Bernard's
        # report is the newer for 20-24, Campbell's for 25-29).
        net.isolate("Campbell")
        four = [s for s in SERVERS if s != "Campbell"]
        close_all(edges)  # Campbell's connection is inside its namespace: fine
        for server in four:
            reports.send(herd, edges, server, range(0, 10))
        reports.send(herd, edges, "Campbell", range(10, 25))
        reports.send(herd, edges, "Bernard", range(20, 30))
        reports.send(herd, edges, "Campbell", range(25, 30))
        four_see = {c: at for c, at in reports.last.items()
                    if int(c.split("-")[1].split(".")[0]) < 10}
        wait_converged(herd, four_see, servers=four, timeout=10)
        # Nothing crossed the cut: Campbell does not have the four's reports.
        if not mismatches(herd, four_see, ["Campbell"]):
            raise Failure("Campbell got the others' reports while cut off")

        net.isolate("Campbell", cut=False)
        net.heal_links()
        took_heal = wait_converged(herd, reports.last, timeout=20)
    finally:
        close_all(edges)
    return (f"{reports.count} reports; with Riley-Jaquez down converged in {took_link:.2f} s; "
            f"after the heal every server had every acknowledged report in {took_heal:.2f} s")


def scenario_netem(herd):
    """Every host's link 50 ms slower and 5% lossy: still converges in seconds."""
    supported, why = herd.net.netem_supported()
    if not supported:
        raise Skipped(f"tc netem unavailable in this kernel ({why}); "
                      f"needs sch_netem (CONFIG_NET_SCH_NETEM)")
    herd.net.netem("delay 50ms loss 5%")
    reports, edges = Reports("lossy"), {}
    try:
        for r in range(4):
            for s, server in enumerate(SERVERS):
                reports.send(herd, edges, server,
                             [i for i in range(40) if (i + r) % len(SERVERS) == s])
        close_all(edges)
        took = wait_converged(herd, reports.last, timeout=15)
    finally:
        close_all(edges)
        herd.net.netem(None)
    return f"{reports.count} reports over 50 ms, 5% lossy links converged in {took:.2f} s"


def scenario_readdress(herd):
    """Campbell restarts on a new address; Bernard and Juzang find it by name."""
    net = herd.net
    reports, edges = Reports("moved"), {}
    clients = range(20)
    old = net.address["Campbell"]
    new = f"{SUBNET}.{111 + SERVERS.index('Campbell')}"
    try:
        reports.send(herd, edges, "Riley", clients)
        wait_converged(herd, reports.last, timeout=10)
        close_all(edges)

        herd.stop("Campbell")
        offset = os.path.getsize(herd.log_path("Campbell"))
        net.readdress("Campbell", new)
        herd.start("Campbell")
        herd.wait_ready("Campbell")
        restarted = time.monotonic()

        # Each neighbour dials Campbell by name: its stream arriving proves it
        # resolved the new address.
        for neighbour in ("Bernard", "Juzang"):
            opened = f"peer {neighbour}: inbound stream opened"
            wait_until(f"{neighbour} to reach Campbell at its new address {new}",
                       lambda: opened in herd.log_text("Campbell", offset), timeout=15)
        reached = time.monotonic() - restarted

        # Floods reach it (the full state after its restart, and new reports
        # from the far side of the herd), and its own reports flow out.
        reports.send(herd, edges, "Riley", range(0, 10))
        reports.send(herd, edges, "Campbell", range(10, 20))
        took = wait_converged(herd, reports.last, timeout=10)
    finally:
        close_all(edges)
    return (f"moved {old} -> {new}; both neighbours reached it {reached:.2f} s after "
            f"its restart; converged {took:.2f} s after the next reports")


SCENARIOS = {
    "convergence": scenario_convergence,
    "partition": scenario_partition,
    "netem": scenario_netem,
    "readdress": scenario_readdress,
}


# --- main -------------------------------------------------------------------------

def skip(message):
    print(f"hosts: SKIPPED: {message}", flush=True)
    sys.exit(SKIP)


def preflight():
    if not sys.platform.startswith("linux"):
        skip("network namespaces are Linux only")
    if os.geteuid() != 0:
        skip("needs root for network namespaces (ip netns); run the tests as root "
             "(CI does) to include the multi-host suite")
    if shutil.which("ip") is None:
        skip("`ip` not found: install iproute2 (scripts/dev.sh does)")
    probe = f"{PREFIX}{os.getpid()}-probe"
    done = run("ip", "netns", "add", probe, check=False)
    run("ip", "netns", "delete", probe, check=False)
    if done.returncode != 0:
        skip(f"cannot make a network namespace here: {done.stderr.strip()}")


def main():
    global VERBOSE
    source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--herd", required=True, help="the herd binary")
    parser.add_argument("--gazetteer",
                        default=os.path.join(source, "places/data/geonames-cities.tsv"))
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS),
                        help="run only this scenario (repeatable)")
    parser.add_argument("--variant", action="append", choices=["insecure", "secure"],
                        help="security variant of the configs (default: both)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    VERBOSE = args.verbose
    herd_binary = os.path.abspath(args.herd)
    gazetteer = os.path.abspath(args.gazetteer)
    if not os.access(herd_binary, os.X_OK):
        raise SystemExit(f"hosts: no herd binary at {herd_binary}")

    preflight()

    # A SIGTERM (ctest's timeout) or SIGHUP unwinds through every finally.
    def stop(signum, _frame):
        raise SystemExit(f"hosts: stopped by signal {signum}")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)

    remove_leftovers()
    started = time.monotonic()
    results = []
    workroot = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
    network = None
    try:
        network = Network()
        log(f"namespaces {network.run_id}-*: " + ", ".join(
            f"{Network.host(n)}={network.address[n]}" for n in SERVERS))
        for variant in args.variant or ["insecure", "secure"]:
            for name in args.only or list(SCENARIOS):
                label = f"{name} [{variant}]"
                workdir = os.path.join(workroot, f"{variant}-{name}")
                os.makedirs(workdir)
                herd = None
                t0 = time.monotonic()
                try:
                    herd = Herd(herd_binary, network, workdir, gazetteer, variant)
                    herd.start_all()
                    detail = SCENARIOS[name](herd)
                    herd.stop_all()
                    results.append(("passed", label))
                    log(f"PASS {label} ({time.monotonic() - t0:.1f} s): {detail}")
                except Skipped as e:
                    results.append(("skipped", label))
                    log(f"SKIP {label}: {e}")
                except (Failure, OSError) as e:
                    results.append(("failed", label))
                    log(f"FAIL {label} ({time.monotonic() - t0:.1f} s): {e}")
                    if herd is not None:
                        herd.dump()
                finally:
                    if herd is not None:
                        herd.kill_all()
                    # The next scenario starts from the first addresses, no
                    # cuts and no netem.
                    network.heal_links()
                    for server in SERVERS:
                        network.isolate(server, cut=False)
                    for server in SERVERS:
                        if network.address[server] != network.initial[server]:
                            network.readdress(server, network.initial[server])
    finally:
        if network is not None:
            network.close()
        if args.keep:
            log(f"work folder kept: {workroot}")
        else:
            shutil.rmtree(workroot, ignore_errors=True)

    counts = {k: sum(1 for r, _ in results if r == k) for k in ("passed", "failed", "skipped")}
    log(f"{time.monotonic() - started:.1f} s in all")
    print(f"hosts: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped", flush=True)
    if counts["failed"]:
        return 1
    if not counts["passed"]:
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
