"""Shared helpers for integration tests: start the real build/duetd in a
temporary state directory, talk to its admin socket, run build/duetctl."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
DUETD = os.path.join(BUILD, "duetd")
DUETCTL = os.path.join(BUILD, "duetctl")
SCHEMA = os.path.join(ROOT, "datamodel", "device2.xml")
DEFAULTS = os.path.join(ROOT, "datamodel", "factory-defaults.txt")
SHARED = os.path.abspath(os.environ.get("SHARED", os.path.join(ROOT, "..", "shared")))
# the Connection Request credentials of datamodel/factory-defaults.txt
CR_USER, CR_PASS = "DG0000000001", "duet-cr"


def load_test_acs():
    """(the test ACS module cwmp_acs, None), or (None, why) when it cannot
    load (it needs python3-lxml)."""
    try:
        import cwmp_acs
        return cwmp_acs, None
    except ImportError as e:
        return None, "cannot load the test ACS (%s; apt-get install python3-lxml)" % e


def escape(field):
    return field.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def unescape(field):
    out, i = [], 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 1 < len(field):
            nxt = field[i + 1]
            out.append({"\\": "\\", "t": "\t", "n": "\n"}.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class AdminError(Exception):
    def __init__(self, code, message):
        super().__init__("%d: %s" % (code, message))
        self.code = code
        self.message = message


class Admin:
    """One connection to the admin socket; requests answered in order."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("admin socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def request(self, *fields):
        self.sock.sendall(("\t".join(escape(f) for f in fields) + "\n").encode())
        rows = []
        while True:
            line = self._line()
            if line == "ok":
                return rows
            parts = [unescape(p) for p in line.split("\t")]
            if parts[0] == "err":
                raise AdminError(int(parts[1]), parts[2] if len(parts) > 2 else "")
            rows.append(parts)

    def get(self, expr):
        return {r[1]: r[2] for r in self.request("get", expr) if r[0] == "P"}

    def value(self, path):
        return self.get(path)[path]


class Agent:
    """A duetd process on a private state directory."""

    def __init__(self, state=None, schema=SCHEMA, defaults=DEFAULTS, extra=()):
        self.tmp = tempfile.mkdtemp(prefix="duet-it-")
        self.state = state or os.path.join(self.tmp, "state")
        self.sock = os.path.join(self.tmp, "admin.sock")
        self.schema = schema
        self.defaults = defaults
        self.extra = list(extra)
        self.proc = None
        self.log = os.path.join(self.tmp, "duetd.log")

    def argv(self):
        # the Connection Request listener on a free port: a fixed 7547 would
        # make agents started side by side (or a restart racing the old
        # process) fight over it
        cr = [] if "--cwmp-cr-port" in self.extra else ["--cwmp-cr-port", "-1"]
        return [DUETD, "--state", self.state, "--schema", self.schema, "--defaults", self.defaults,
                "--admin", self.sock, "--log-level", "info"] + cr + self.extra

    def start(self, wait=True):
        if getattr(self, "logf", None):
            self.logf.close()
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv(), stdout=self.logf, stderr=self.logf)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("duetd exited with %d:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                a = Admin(self.sock, timeout=2)
                try:
                    a.request("ping")
                finally:
                    a.close()
                return
            except (OSError, ConnectionError):
                time.sleep(0.01)
        raise RuntimeError("duetd not ready:\n" + self.read_log())

    def read_log(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def admin(self):
        return Admin(self.sock)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        if getattr(self, "logf", None):
            self.logf.close()
            self.logf = None
        return rc

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def duetctl(*args, check=False):
    p = subprocess.run([DUETCTL] + list(args), capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError("duetctl %s failed: %s" % (args, p.stderr))
    return p
