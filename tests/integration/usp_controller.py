"""A USP Controller for the integration tests.

What lives here:
  - Python bindings for our proto/ files, generated with protoc into a
    temporary directory at first use (never kept, never committed);
  - builders for Records and request Msgs, parsers for what comes back;
  - Controller: sends requests and returns the parsed responses (get, set,
    add, delete, operate, get_instances, get_supported_dm,
    get_supported_proto, notify_resp), keeps Notify requests and Connect
    Records that arrive in between;
  - transports: thin adapters giving one interface (send a Record, receive
    one with a timeout) over tests/integration/usp_mtp.py (UNIX domain
    sockets, WebSocket client and server) and usp_mqtt.py (private
    mosquitto, paho Controller);
  - UspAgent: duetd with --usp-socket and factory defaults extended by the
    test; AgentCase: one such agent per test class;
  - byte-exact exchange files (tests/data/usp/*.txt) and a small command
    line to decode them: python3 usp_controller.py decode FILE.

What does not: assertions about the agent (those are in test_usp*.py).
Every receive has a timeout; a missing answer raises NoAnswer, which is an
AssertionError so that unittest reports a failure rather than a hang.
"""
import asyncio
import concurrent.futures
import importlib
import importlib.util
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from duet_harness import Agent, DEFAULTS, ROOT  # noqa: E402

PROTO_DIR = os.path.join(ROOT, "proto")
PROTOS = ("usp-msg-1-4.proto", "usp-record-1-4.proto")
DATA_DIR = os.path.join(ROOT, "tests", "data", "usp")

TIMEOUT = 5.0  # seconds to wait for any one answer
CONTROLLER_ID = "proto::duet-test-controller"
AGENT_ID = "os::02D0E7-DG0000000001"  # datamodel/factory-defaults.txt
USP_VERSION = "1.4"

FULL_ACCESS_ROLE = "Device.LocalAgent.ControllerTrust.Role.1"
UNTRUSTED_ROLE = "Device.LocalAgent.ControllerTrust.Role.2"


class Unavailable(Exception):
    """Something a test needs is not installed; the test skips with this text."""


class NoAnswer(AssertionError):
    """Nothing (or not the expected thing) arrived in time."""


class WireError(AssertionError):
    """The peer sent something that breaks the protocol."""


class Closed(Exception):
    """The transport was closed by the peer."""

    def __init__(self, text="connection closed", code=None):
        super().__init__(text)
        self.code = code


class UspError(Exception):
    """A request was answered with a USP Error message."""

    def __init__(self, err):
        self.code = err.err_code
        self.msg = err.err_msg
        self.param_errs = [(p.param_path, p.err_code, p.err_msg) for p in err.param_errs]
        detail = "".join("\n  %s: %d %s" % p for p in self.param_errs)
        super().__init__("USP Error %d %s%s" % (self.code, self.msg, detail))

    def param_codes(self):
        return {p: c for p, c, _ in self.param_errs}


# ---------------------------------------------------------------------------
# Bindings
# ---------------------------------------------------------------------------

_pb = None


def pb():
    """The generated modules: pb().msg (package usp), pb().rec (usp_record)."""
    global _pb
    if _pb is not None:
        return _pb
    if not shutil.which("protoc"):
        raise Unavailable("protoc not found (apt-get install protobuf-compiler)")
    if importlib.util.find_spec("google.protobuf") is None:
        raise Unavailable("python3-protobuf is not installed")
    out = tempfile.mkdtemp(prefix="duet-usp-pb-")
    try:
        p = subprocess.run(["protoc", "--proto_path=" + PROTO_DIR, "--python_out=" + out] + list(PROTOS),
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("protoc failed on proto/: " + p.stderr.strip())
        sys.path.insert(0, out)
        try:
            msg = importlib.import_module("usp_msg_1_4_pb2")
            rec = importlib.import_module("usp_record_1_4_pb2")
        finally:
            sys.path.remove(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    _pb = types.SimpleNamespace(msg=msg, rec=rec)
    return _pb


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------

def record(payload=None, to_id=AGENT_ID, from_id=CONTROLLER_ID, version=USP_VERSION, kind="no_session",
           security=None, **fields):
    """An encoded Record. kind: no_session (payload = Msg bytes), session
    (payload = list of datagrams; session_id, sequence_id, expected_id from
    fields), uds_connect, websocket_connect, mqtt_connect (mqtt_version,
    subscribed_topic), disconnect (reason, reason_code), none (no
    record_type)."""
    R = pb().rec
    r = R.Record()
    r.version = version
    r.to_id = to_id
    r.from_id = from_id
    if security is not None:
        r.payload_security = security
    if kind == "no_session":
        r.no_session_context.payload = payload or b""
    elif kind == "session":
        s = r.session_context
        s.session_id = fields.get("session_id", 1)
        s.sequence_id = fields.get("sequence_id", 1)
        s.expected_id = fields.get("expected_id", 1)
        s.payload.extend([payload] if isinstance(payload, bytes) else (payload or []))
    elif kind == "uds_connect":
        r.uds_connect.SetInParent()
    elif kind == "websocket_connect":
        r.websocket_connect.SetInParent()
    elif kind == "mqtt_connect":
        r.mqtt_connect.version = fields.get("mqtt_version", R.MQTTConnectRecord.V5)
        r.mqtt_connect.subscribed_topic = fields.get("subscribed_topic", "")
    elif kind == "disconnect":
        r.disconnect.reason = fields.get("reason", "")
        r.disconnect.reason_code = fields.get("reason_code", 0)
    elif kind != "none":
        raise ValueError("unknown record kind " + kind)
    return r.SerializeToString()


def parse_record(data):
    """Decode a Record; WireError when the bytes are not one."""
    r = pb().rec.Record()
    try:
        r.ParseFromString(data)
    except Exception as e:  # the decoder raises its own DecodeError
        raise WireError("not a USP Record (%s): %r" % (e, data[:64]))
    return r


def record_kind(r):
    return r.WhichOneof("record_type")


def parse_msg(data):
    m = pb().msg.Msg()
    try:
        m.ParseFromString(data)
    except Exception as e:
        raise WireError("payload is not a USP Msg (%s)" % e)
    return m


def record_msg(r):
    """The Msg in a no_session_context Record, else None."""
    if record_kind(r) != "no_session_context":
        return None
    return parse_msg(r.no_session_context.payload)


# ---------------------------------------------------------------------------
# Msgs
# ---------------------------------------------------------------------------

def _msg(msg_id, mtype):
    M = pb().msg
    m = M.Msg()
    m.header.msg_id = msg_id
    m.header.msg_type = M.Header.MsgType.Value(mtype)
    return m


def _settings(container, params, default_required):
    """param_settings from {name: value}, or [(name, value[, required])]."""
    items = params.items() if isinstance(params, dict) else params
    for item in items:
        name, value = item[0], item[1]
        required = item[2] if len(item) > 2 else default_required
        ps = container.add()
        ps.param = name
        ps.value = value
        ps.required = required


def _objs(objs):
    """[(obj_path, params)] from a dict or a list of pairs."""
    return list(objs.items()) if isinstance(objs, dict) else list(objs)


def get_msg(msg_id, paths, max_depth=0):
    m = _msg(msg_id, "GET")
    g = m.body.request.get
    g.param_paths.extend(paths)
    g.max_depth = max_depth
    return m


def set_msg(msg_id, objs, allow_partial=False, required=True):
    m = _msg(msg_id, "SET")
    s = m.body.request.set
    s.allow_partial = allow_partial
    for path, params in _objs(objs):
        u = s.update_objs.add()
        u.obj_path = path
        _settings(u.param_settings, params, required)
    return m


def add_msg(msg_id, objs, allow_partial=False, required=True):
    m = _msg(msg_id, "ADD")
    a = m.body.request.add
    a.allow_partial = allow_partial
    for path, params in _objs(objs):
        c = a.create_objs.add()
        c.obj_path = path
        _settings(c.param_settings, params or {}, required)
    return m


def delete_msg(msg_id, paths, allow_partial=False):
    m = _msg(msg_id, "DELETE")
    d = m.body.request.delete
    d.allow_partial = allow_partial
    d.obj_paths.extend(paths)
    return m


def operate_msg(msg_id, command, command_key="", send_resp=True, args=None):
    m = _msg(msg_id, "OPERATE")
    o = m.body.request.operate
    o.command = command
    o.command_key = command_key
    o.send_resp = send_resp
    for k, v in (args or {}).items():
        o.input_args[k] = v
    return m


def get_instances_msg(msg_id, paths, first_level_only=False):
    m = _msg(msg_id, "GET_INSTANCES")
    g = m.body.request.get_instances
    g.obj_paths.extend(paths)
    g.first_level_only = first_level_only
    return m


def get_supported_dm_msg(msg_id, paths, first_level_only=False, commands=True, events=True, params=True,
                         unique_key_sets=True):
    m = _msg(msg_id, "GET_SUPPORTED_DM")
    g = m.body.request.get_supported_dm
    g.obj_paths.extend(paths)
    g.first_level_only = first_level_only
    g.return_commands = commands
    g.return_events = events
    g.return_params = params
    g.return_unique_key_sets = unique_key_sets
    return m


def get_supported_proto_msg(msg_id, versions="1.4"):
    m = _msg(msg_id, "GET_SUPPORTED_PROTO")
    m.body.request.get_supported_protocol.controller_supported_protocol_versions = versions
    return m


def notify_resp_msg(msg_id, subscription_id):
    m = _msg(msg_id, "NOTIFY_RESP")
    m.body.response.notify_resp.subscription_id = subscription_id
    return m


# Response field and header type of each request, for the checks in _call.
RESPONSES = {
    "get": ("get_resp", "GET_RESP"),
    "set": ("set_resp", "SET_RESP"),
    "add": ("add_resp", "ADD_RESP"),
    "delete": ("delete_resp", "DELETE_RESP"),
    "operate": ("operate_resp", "OPERATE_RESP"),
    "get_instances": ("get_instances_resp", "GET_INSTANCES_RESP"),
    "get_supported_dm": ("get_supported_dm_resp", "GET_SUPPORTED_DM_RESP"),
    "get_supported_protocol": ("get_supported_protocol_resp", "GET_SUPPORTED_PROTO_RESP"),
}


def msg_body_kind(m):
    """'request', 'response' or 'error'."""
    return m.body.WhichOneof("msg_body")


def notify_of(m):
    """The Notify request in a Msg, else None."""
    if msg_body_kind(m) == "request" and m.body.request.WhichOneof("req_type") == "notify":
        return m.body.request.notify
    return None


# ---------------------------------------------------------------------------
# Reading responses
# ---------------------------------------------------------------------------

def get_results(resp):
    """GetResp as {requested_path: (err_code, {resolved_path: {param: value}})}."""
    out = {}
    for r in resp.req_path_results:
        out[r.requested_path] = (r.err_code, {x.resolved_path: dict(x.result_params)
                                              for x in r.resolved_path_results})
    return out


def get_values(resp):
    """Every parameter of a GetResp as {full path: value}."""
    vals = {}
    for r in resp.req_path_results:
        for x in r.resolved_path_results:
            for k, v in x.result_params.items():
                vals[x.resolved_path + k] = v
    return vals


def instances(resp):
    """GetInstancesResp as {requested_path: (err_code, {inst_path: unique_keys})}."""
    return {r.requested_path: (r.err_code, {c.instantiated_obj_path: dict(c.unique_keys) for c in r.curr_insts})
            for r in resp.req_path_results}


def status(result):
    """('success'|'failure', the OperationSuccess or OperationFailure)."""
    which = result.oper_status.WhichOneof("oper_status")
    if which == "oper_success":
        return "success", result.oper_status.oper_success
    if which == "oper_failure":
        return "failure", result.oper_status.oper_failure
    raise WireError("oper_status without oper_success or oper_failure: %s" % result)


# ---------------------------------------------------------------------------
# Transports: adapters over tests/integration/usp_mtp.py (UNIX domain
# sockets, WebSocket) and usp_mqtt.py (mosquitto, paho Controller)
# ---------------------------------------------------------------------------

def mtp():
    """tests/integration/usp_mtp.py (it needs python3-websockets)."""
    try:
        import usp_mtp
    except ImportError as e:
        raise Unavailable("usp_mtp.py cannot be loaded (python3-websockets?): %s" % e)
    return usp_mtp


def mqtt():
    """tests/integration/usp_mqtt.py, once the mosquitto broker is known to
    be installed."""
    try:
        import usp_mqtt
    except ImportError as e:
        raise Unavailable("usp_mqtt.py cannot be loaded (python3-paho-mqtt?): %s" % e)
    if not os.path.exists(usp_mqtt.MOSQUITTO):
        raise Unavailable("mosquitto broker not installed (apt-get install mosquitto)")
    return usp_mqtt


TLV_HANDSHAKE, TLV_ERROR, TLV_RECORD = 1, 2, 3  # R-UDS.12 to R-UDS.14
_TIMEOUTS = (socket.timeout, TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError)


def uds_frame(*tlvs):
    """A Frame of (type, value) TLVs: "_USP", the length of the rest, TLVs."""
    return mtp().frame(*tlvs)


def uds_tlvs(data):
    """The TLVs of the Frames in data (whole Frames only)."""
    return [tlv for f in mtp().Framer().feed(data) for tlv in f]


def reply_to_suffix(topic):
    """MQTT 3.1.1 "reply to" Topic appended to a Topic Name (R-MQTT.24)."""
    return "/reply-to=" + topic.replace("/", "%2F")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Transport:
    """Carries encoded Records to and from one agent. peer_id is the agent's
    EndpointID when the MTP told us (UDS Handshake), else None."""
    peer_id = None
    name = "?"

    def send(self, data):
        raise NotImplementedError

    def recv(self, timeout):
        """One Record's bytes; NoAnswer after timeout, Closed when closed."""
        raise NotImplementedError

    def close(self):
        pass


class UdsLink:
    """A raw connection to a UNIX socket, for tests that need to misbehave
    or compare bytes: nothing is sent on connect."""

    def __init__(self, path, timeout=TIMEOUT):
        self.c = mtp().UdsClient(path, CONTROLLER_ID, timeout, handshake=False)

    def send_raw(self, data):
        self.c.send_raw(data)

    def send_tlv(self, t, value):
        self.c.send_tlv(t, value)

    def recv_frame(self, timeout=TIMEOUT):
        """The next Frame's TLVs; NoAnswer on timeout, Closed at EOF."""
        try:
            tlvs = self.c.recv_frame(timeout)
        except _TIMEOUTS:
            raise NoAnswer("UDS: no frame within %.1f s" % timeout)
        if tlvs is None:
            raise Closed("UDS connection closed by the agent")
        return tlvs

    def recv_exact(self, n, timeout=TIMEOUT):
        """Exactly n bytes off the socket, as they came."""
        sock, data = self.c.sock, b""
        deadline = time.time() + timeout
        while len(data) < n:
            left = deadline - time.time()
            if left <= 0:
                raise NoAnswer("UDS: %d of %d bytes within %.1f s: %s" % (len(data), n, timeout, data.hex()))
            sock.settimeout(left)
            try:
                chunk = sock.recv(n - len(data))
            except _TIMEOUTS:
                continue
            if not chunk:
                raise Closed("UDS connection closed after %d of %d bytes: %s" % (len(data), n, data.hex()))
            data += chunk
        return data

    def wait_closed(self, timeout=TIMEOUT):
        """(True, frames seen) once the agent closes, (False, frames) if it
        has not within timeout."""
        frames = []
        deadline = time.time() + timeout
        while True:
            try:
                frames.append(self.recv_frame(max(0.01, deadline - time.time())))
            except Closed:
                return True, frames
            except NoAnswer:
                return False, frames

    def close(self):
        self.c.close()


class UdsTransport(Transport):
    """The Controller end of a UDS connection, Handshake done: as client
    (path) we speak first (R-UDS.16); as server (client given, accepted by
    UdsServer) the agent did."""
    name = "UDS"

    def __init__(self, path=None, endpoint_id=CONTROLLER_ID, timeout=TIMEOUT, client=None):
        M = mtp()
        if client is None:
            try:
                client = M.UdsClient(path, endpoint_id, timeout, handshake=True)
            except M.UdsError as e:
                raise WireError("UDS Handshake failed: %s" % e)
            except _TIMEOUTS:
                raise NoAnswer("no Handshake from the agent on %s" % path)
        self.c = client
        self.peer_id = client.agent_id
        self.pending = []
        self.errors = []  # texts of Error frames received

    def send(self, data):
        self.c.send_record(data)

    def recv(self, timeout):
        deadline = time.time() + timeout
        while not self.pending:
            try:
                tlvs = self.c.recv_frame(max(0.01, deadline - time.time()))
            except _TIMEOUTS:
                raise NoAnswer("UDS: nothing within %.1f s" % timeout)
            if tlvs is None:
                raise Closed("UDS connection closed by the agent")
            for t, v in tlvs:
                if t == TLV_RECORD:
                    self.pending.append(v)
                elif t == TLV_ERROR:
                    self.errors.append(v.decode(errors="replace"))
        return self.pending.pop(0)

    def close(self):
        self.c.close()


class UdsServer:
    """A Controller's UNIX socket the agent connects to (Mode Connect)."""

    def __init__(self, path, endpoint_id=CONTROLLER_ID):
        self.s = mtp().UdsServer(path, endpoint_id)

    def accept(self, timeout=TIMEOUT):
        try:
            return UdsTransport(client=self.s.accept(timeout))
        except _TIMEOUTS:
            raise NoAnswer("the agent did not connect (and hand-shake) within %.1f s" % timeout)

    def close(self):
        self.s.close()


class WsTransport(Transport):
    """One WebSocket session (either end). Binary messages are Records; a
    text message fails recv with a WireError."""
    name = "WebSocket"

    def __init__(self, conn):
        self.conn = conn
        self.ws = conn.ws
        self.subprotocol = conn.subprotocol
        self.path = getattr(conn, "path", None)
        self.request_protocols = []
        headers = getattr(conn, "request_headers", None)
        if headers is not None:
            for h in headers.get_all("Sec-WebSocket-Protocol"):
                self.request_protocols += [p.strip() for p in h.split(",") if p.strip()]

    def run(self, coro, timeout=TIMEOUT):
        """Run a coroutine on the session's own loop (pings, fragments)."""
        return asyncio.run_coroutine_threadsafe(coro, self.ws.loop).result(timeout)

    def send(self, data):
        self.conn.send_record(data)

    def send_text(self, text):
        self.conn.send_text(text)

    def recv(self, timeout):
        import websockets.exceptions
        try:
            data = self.conn.recv(timeout)
        except _TIMEOUTS:
            raise NoAnswer("WebSocket: nothing within %.1f s" % timeout)
        except websockets.exceptions.ConnectionClosed:
            raise Closed("WebSocket closed by the agent (code %s)" % self.ws.close_code, self.ws.close_code)
        if isinstance(data, str):
            raise WireError("WebSocket text message (R-WS.14 wants binary): %r" % data[:80])
        return data

    def wait_closed(self, timeout=TIMEOUT):
        """The close code once the session ended, None if still open."""
        try:
            return self.conn.wait_closed(timeout)[0]
        except _TIMEOUTS:
            return None

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass  # already closed


def ws_connect(url, endpoint_id=CONTROLLER_ID, subprotocols=("v1.usp",), timeout=TIMEOUT, ssl=None):
    """A session with an agent's WebSocket server; our EndpointID goes in the
    eid query parameter (R-WS.10b). A wss:// url wants ssl, an
    ssl.SSLContext. Handshake failures raise websockets' exceptions (TLS
    ones ssl's or OSError)."""
    return WsTransport(mtp().WsClient(url, endpoint_id, subprotocols=subprotocols, timeout=timeout, ssl=ssl))


class WsServer:
    """A Controller's WebSocket server on 127.0.0.1 for the agent to dial;
    accept() gives the next session (WsTransport with .path and
    .request_protocols). With ssl (an ssl.SSLContext with its certificate)
    it is a wss server."""

    def __init__(self, ssl=None):
        self.s = mtp().WsServer(endpoint_id=CONTROLLER_ID, ssl=ssl)
        self.port = self.s.port

    def accept(self, timeout=TIMEOUT):
        try:
            return WsTransport(self.s.accept(timeout))
        except queue.Empty:
            raise NoAnswer("the agent did not open a WebSocket session to port %d within %.1f s" %
                           (self.port, timeout))

    def close(self):
        try:
            self.s.stop()
        except Exception:
            pass  # stopped already


def broker():
    """A private mosquitto (usp_mqtt.Broker); close() it."""
    return mqtt().Broker()


class MqttTransport(Transport):
    """A Controller on a broker (usp_mqtt.Controller): subscribed to its own
    topic, publishing to the agent's topic with its "reply to" Topic. Every
    PUBLISH received is kept in .received (usp_mqtt.Received: topic,
    content_type, response_topic, reply_to, payload)."""
    name = "MQTT"

    def __init__(self, port, agent_topic, topic, version=5, endpoint_id=CONTROLLER_ID, client_id=None):
        self.agent_topic = agent_topic
        self.c = mqtt().Controller(port, endpoint_id, topic, version, client_id)
        self.received = []

    def send(self, data):
        self.c.send(self.agent_topic, data).wait_for_publish(TIMEOUT)

    def recv(self, timeout):
        try:
            r = self.c.recv(timeout)
        except queue.Empty:
            raise NoAnswer("MQTT: nothing on %s within %.1f s" % (self.c.topic, timeout))
        self.received.append(r)
        return r.payload

    def close(self):
        self.c.close()


# ---------------------------------------------------------------------------
# The Controller
# ---------------------------------------------------------------------------

class Controller:
    """A USP Controller on one transport. Every Record received is checked
    to be addressed to us, from the agent, USP 1.4. Records that are not the
    awaited response (Notify requests, Connect Records, Disconnects) are kept
    in self.inbox as parsed Records."""

    def __init__(self, transport, endpoint_id=CONTROLLER_ID, agent_id=None, timeout=TIMEOUT):
        self.t = transport
        self.endpoint_id = endpoint_id
        self.agent_id = agent_id or transport.peer_id or AGENT_ID
        self.timeout = timeout
        self.inbox = []
        self.seq = 0

    def close(self):
        self.t.close()

    def next_id(self, prefix="duet"):
        self.seq += 1
        return "%s-%d" % (prefix, self.seq)

    # ---- records ----

    def send_msg(self, m, **rec):
        """Send a Msg in a NoSessionContext Record; rec overrides Record fields."""
        rec.setdefault("to_id", self.agent_id)
        rec.setdefault("from_id", self.endpoint_id)
        self.t.send(record(m.SerializeToString(), **rec))

    def send_record(self, data):
        self.t.send(data)

    def recv_record(self, timeout=None):
        r = parse_record(self.t.recv(self.timeout if timeout is None else timeout))
        if r.to_id != self.endpoint_id:
            raise WireError("record to_id %r, we are %r" % (r.to_id, self.endpoint_id))
        if r.from_id != self.agent_id:
            raise WireError("record from_id %r, the agent is %r" % (r.from_id, self.agent_id))
        if r.version != USP_VERSION:
            raise WireError("record version %r, expected %r" % (r.version, USP_VERSION))
        if r.payload_security != pb().rec.Record.PLAINTEXT:
            raise WireError("record payload_security %d: we never asked for E2E security" % r.payload_security)
        return r

    def wait_record(self, pred=lambda r: True, timeout=None, what="a Record"):
        """The first Record (kept or arriving) for which pred is true."""
        for i, r in enumerate(self.inbox):
            if pred(r):
                return self.inbox.pop(i)
        deadline = time.time() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise NoAnswer("no %s within the timeout over %s" % (what, self.t.name))
            try:
                r = self.recv_record(left)
            except NoAnswer:
                raise NoAnswer("no %s within the timeout over %s" % (what, self.t.name))
            except Closed as e:
                raise NoAnswer("no %s: %s" % (what, e))
            if pred(r):
                return r
            self.inbox.append(r)

    def wait_connect_record(self, kind, timeout=None):
        return self.wait_record(lambda r: record_kind(r) == kind, timeout, kind + " Record")

    # ---- messages ----

    def wait_response(self, msg_id, timeout=None):
        """The Msg answering msg_id (a response or an Error)."""
        def answers(r):
            m = record_msg(r)
            return m is not None and m.header.msg_id == msg_id and msg_body_kind(m) in ("response", "error")
        return record_msg(self.wait_record(answers, timeout, "answer to %s" % msg_id))

    def request(self, m, timeout=None, **rec):
        self.send_msg(m, **rec)
        return self.wait_response(m.header.msg_id, timeout)

    def _call(self, m, req_kind, timeout=None):
        r = self.request(m, timeout)
        if msg_body_kind(r) == "error":
            M = pb().msg
            if r.header.msg_type != M.Header.ERROR:
                raise WireError("Error body with msg_type %s" % M.Header.MsgType.Name(r.header.msg_type))
            raise UspError(r.body.error)
        field, mtype = RESPONSES[req_kind]
        got = r.body.response.WhichOneof("resp_type")
        if got != field:
            raise WireError("%s answered with %s" % (req_kind, got))
        want = pb().msg.Header.MsgType.Value(mtype)
        if r.header.msg_type != want:
            raise WireError("%s in a Msg of msg_type %s (R-MSG.10)" %
                            (field, pb().msg.Header.MsgType.Name(r.header.msg_type)))
        return getattr(r.body.response, field)

    def get(self, *paths, max_depth=0):
        return self._call(get_msg(self.next_id(), paths, max_depth), "get")

    def set(self, objs, allow_partial=False, required=True):
        return self._call(set_msg(self.next_id(), objs, allow_partial, required), "set")

    def add(self, objs, allow_partial=False, required=True):
        return self._call(add_msg(self.next_id(), objs, allow_partial, required), "add")

    def delete(self, *paths, allow_partial=False):
        return self._call(delete_msg(self.next_id(), paths, allow_partial), "delete")

    def operate(self, command, command_key="", args=None, send_resp=True):
        return self._call(operate_msg(self.next_id(), command, command_key, send_resp, args), "operate")

    def get_instances(self, *paths, first_level_only=False):
        return self._call(get_instances_msg(self.next_id(), paths, first_level_only), "get_instances")

    def get_supported_dm(self, *paths, **flags):
        return self._call(get_supported_dm_msg(self.next_id(), paths, **flags), "get_supported_dm")

    def get_supported_proto(self, versions="1.0,1.1,1.2,1.3,1.4"):
        return self._call(get_supported_proto_msg(self.next_id(), versions), "get_supported_protocol")

    def notify_resp(self, notify_msg):
        """Answer a Notify Msg (R-NOT.10: same subscription_id)."""
        n = notify_of(notify_msg)
        self.send_msg(notify_resp_msg(notify_msg.header.msg_id, n.subscription_id))

    # ---- convenience ----

    def value(self, path):
        vals = get_values(self.get(path))
        if path not in vals:
            raise AssertionError("%s not in the GetResp: %s" % (path, vals))
        return vals[path]

    def add_one(self, table, params=None):
        """Add one instance; its instantiated path. An Error or an
        OperationFailure fails the calling test."""
        try:
            resp = self.add([(table, params or {})])
        except UspError as e:
            raise AssertionError("Add %s %s answered with %s" % (table, params, e))
        st, body = status(resp.created_obj_results[0])
        if st != "success":
            raise AssertionError("Add %s failed: %d %s" % (table, body.err_code, body.err_msg))
        return body.instantiated_path

    def wait_notify(self, pred=lambda m, n: True, timeout=None, what="Notify"):
        """The next Notify Msg for which pred(msg, notify) is true."""
        def match(r):
            m = record_msg(r)
            n = m and notify_of(m)
            return bool(n) and pred(m, n)
        return record_msg(self.wait_record(match, timeout, what))

    def sync(self, timeout=None):
        """A round trip: everything the agent sent before answering it ends
        up in self.inbox. Records are handled in order on one connection, so
        a request sent earlier that got nothing before this answer got
        nothing at all."""
        m = get_supported_proto_msg(self.next_id("sync"), USP_VERSION)
        self.request(m, timeout)

    def answers_to(self, msg_id):
        """Kept Records that refer to msg_id (responses or Errors)."""
        out = []
        for r in self.inbox:
            m = record_msg(r)
            if m is not None and m.header.msg_id == msg_id:
                out.append(m)
        return out


# ---------------------------------------------------------------------------
# The agent under test
# ---------------------------------------------------------------------------

def controller_lines(inst, endpoint_id, role=FULL_ACCESS_ROLE):
    """Factory-default lines for a Controller table entry."""
    p = "Device.LocalAgent.Controller.%d." % inst
    lines = ["%sEndpointID %s" % (p, endpoint_id), "%sEnable true" % p]
    if role:
        lines.append("%sAssignedRole %s" % (p, role))
    return lines


class UspAgent(Agent):
    """duetd with an extra USP UNIX socket (--usp-socket) and the bundled
    factory defaults plus lines of the test's own. By default the test
    Controller (CONTROLLER_ID) is Controller.1 with the Full Access Role."""

    def __init__(self, defaults_extra=(), extra=(), trusted=True, base_defaults=DEFAULTS, drop=()):
        super().__init__()
        self.usp_sock = os.path.join(self.tmp, "usp.sock")
        self.extra = ["--usp-socket", self.usp_sock] + list(extra)
        lines = []
        with open(base_defaults) as f:
            for line in f.read().splitlines():
                if not any(line.startswith(d) for d in drop):
                    lines.append(line)
        lines.append("# added by the USP integration tests")
        if trusted:
            lines += controller_lines(1, CONTROLLER_ID)
        lines += list(defaults_extra)
        self.defaults = os.path.join(self.tmp, "defaults.txt")
        with open(self.defaults, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, wait=True):
        super().start(wait)
        if wait:
            self.wait_usp()
        return self

    def wait_usp(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(self.usp_sock):
                return
            if self.proc.poll() is not None:
                raise RuntimeError("duetd exited:\n" + self.read_log())
            time.sleep(0.01)
        raise RuntimeError("no USP socket at %s:\n%s" % (self.usp_sock, self.read_log()))

    def controller(self, endpoint_id=CONTROLLER_ID, timeout=TIMEOUT):
        """A Controller on the --usp-socket, after the Handshake."""
        t = UdsTransport(self.usp_sock, endpoint_id, timeout)
        return Controller(t, endpoint_id, timeout=timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restarts(self):
        return self.read_log().count("ready in")

    def wait_restart(self, count, timeout=10):
        """Wait until the log shows count starts and USP is back."""
        deadline = time.time() + timeout
        while time.time() < deadline and self.restarts() < count and self.proc.poll() is None:
            time.sleep(0.02)
        if self.proc.poll() is not None:
            raise AssertionError("duetd exited with %d instead of restarting:\n%s" %
                                 (self.proc.returncode, self.read_log()[-3000:]))
        if self.restarts() < count:
            raise NoAnswer("duetd did not restart:\n" + self.read_log()[-3000:])
        self.wait_ready(max(1, deadline - time.time()))
        self.wait_connectable(max(1, deadline - time.time()))

    def wait_connectable(self, timeout=10):
        deadline = time.time() + timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.usp_sock)
                return
            except OSError:
                if time.time() > deadline:
                    raise NoAnswer("USP socket %s not accepting" % self.usp_sock)
                time.sleep(0.02)
            finally:
                s.close()


class NeedsCase(unittest.TestCase):
    """Skips every test of the class, one by one, when something it needs is
    missing: a class-level skip would not be counted as tests by
    tests/run.sh. A subclass's setUpClass calls cls.needs(...) first and
    returns when it is False."""
    unavailable = None

    @classmethod
    def needs(cls, *checks):
        try:
            for check in checks:
                check()
        except Unavailable as e:
            cls.unavailable = str(e)
            return False
        return True

    def setUp(self):
        if self.unavailable:
            self.skipTest(self.unavailable)


class AgentCase(NeedsCase):
    """One UspAgent for a whole test class, with the test Controller
    connected over the --usp-socket (cls.ctl) and an admin connection
    (cls.admin, another origin). Needs protoc and usp_mtp.py."""
    defaults_extra = ()
    agent_args = ()
    trusted = True

    @classmethod
    def setUpClass(cls):
        if not cls.needs(pb, mtp):
            return
        cls.agent = UspAgent(cls.defaults_extra, cls.agent_args, trusted=cls.trusted)
        try:
            cls.agent.start()
            cls.admin = cls.agent.admin()
            cls.ctl = cls.agent.controller()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for name in ("ctl", "admin"):
            obj = cls.__dict__.get(name)
            if obj is not None:
                obj.close()
        if "agent" in cls.__dict__:
            cls.agent.cleanup()

    def assert_usp_error(self, cm, code, path=None, container=None):
        """The UspError in cm carries code: as err_code, or (container given)
        as a ParamError whose param_path matches the regular expression path
        under err_code container."""
        e = cm.exception if hasattr(cm, "exception") else cm
        if container is not None and e.code == container:
            self.assertIn(code, [c for p, c, _ in e.param_errs if path is None or re.fullmatch(path, p)],
                          "no ParamError %d for %s in %s" % (code, path, e))
            return
        self.assertEqual(e.code, code, str(e))


# ---------------------------------------------------------------------------
# Byte-exact exchanges (tests/data/usp/*.txt)
# ---------------------------------------------------------------------------

def load_exchange(name):
    """[(direction, bytes)] from a data file: lines "> hex" are sent by the
    Controller, "< hex" expected from the agent; consecutive lines of one
    direction are one unit (one UDS Frame); '#' lines are comments and a
    blank line ends a unit."""
    units = []
    cur_dir, cur = None, []

    def flush():
        if cur_dir is not None:
            units.append((cur_dir, bytes.fromhex("".join(cur))))

    with open(os.path.join(DATA_DIR, name)) as f:
        for raw in f:
            line = raw.strip()
            if line.startswith("#"):
                continue
            if not line:
                flush()
                cur_dir, cur = None, []
                continue
            d, rest = line[0], line[1:]
            if d not in "<>":
                raise ValueError("%s: bad line %r" % (name, line))
            if d != cur_dir:
                flush()
                cur_dir, cur = d, []
            cur.append(re.sub(r"\s+", "", rest))
    flush()
    return units


def describe_record(data):
    """One line about an encoded Record, for the decode tool and messages."""
    r = parse_record(data)
    kind = record_kind(r)
    head = "Record v%s %s -> %s %s" % (r.version, r.from_id, r.to_id, kind)
    if kind == "no_session_context":
        m = parse_msg(r.no_session_context.payload)
        text = str(m).replace("\n", " ")
        return head + ": " + re.sub(r"\s+", " ", text)
    return head + ": " + re.sub(r"\s+", " ", str(getattr(r, kind)))


def _decode_file(name):
    for d, data in load_exchange(name):
        who = "Controller > agent" if d == ">" else "agent > Controller"
        if data[:4] == b"_USP":
            for t, v in uds_tlvs(data):
                if t == TLV_RECORD:
                    print("%s: UDS Record TLV: %s" % (who, describe_record(v)))
                else:
                    print("%s: UDS TLV %d %r" % (who, t, v))
        else:
            print("%s: %s" % (who, describe_record(data)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "decode":
        _decode_file(os.path.basename(sys.argv[2]))
    else:
        print("usage: %s decode tests/data/usp/FILE.txt" % sys.argv[0])
        sys.exit(2)
