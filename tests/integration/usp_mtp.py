"""usp_mtp.py - the Controller's side of duetd's USP MTPs, for integration
tests: UNIX domain socket framing with the Handshake (TR-369 "UNIX Domain
Socket Binding"), WebSocket client and server with subprotocol v1.usp and
the Endpoint ID in the "eid" query parameter or the bbf-usp-protocol
extension (TR-369 "WebSocket Binding"), and a small USP Record codec that
needs no generated protobuf code. Runs on Debian's python3 with
python3-websockets (10.x); every call blocks, with a timeout.

Records (bytes in, bytes out; no generated code needed)
    build_record(from_id, to_id, payload=b"", kind="no_session_context",
                 version="1.4", reason="", reason_code=0) -> bytes
    parse_record(data) -> dict: version, to_id, from_id, payload_security,
        kind ("no_session_context", "session_context", "websocket_connect",
        "mqtt_connect", "stomp_connect", "disconnect", "uds_connect"),
        payload (bytes, NoSessionContext), reason, reason_code (Disconnect)
    is_connect_record(data) -> bool       a WebSocket/MQTT/STOMP/UDS Connect

UNIX domain sockets
    HANDSHAKE, ERROR, RECORD = 1, 2, 3    TLV types (R-UDS.12 to R-UDS.14)
    frame(*tlvs) -> bytes                 one frame; tlvs are (type, bytes)
    Framer().feed(data) -> [frame, ...]   each frame a list of (type, value);
                                          ValueError on a bad header
    UdsClient(path, endpoint_id="doc::controller", timeout=5, handshake=True)
        connects; with handshake=True sends our Handshake and waits for the
        agent's (agent_id holds it).
        .handshake() -> agent id          when built with handshake=False
        .send_record(data)                one Record in a type-3 frame
        .send_tlv(type, value)            any single-TLV frame
        .send_raw(data)                   bytes as they are (bad frames)
        .recv_frame(timeout=None) -> [(type, value), ...] or None at EOF
        .recv_record(timeout=None, skip_connect=True) -> bytes; an Error
                                          frame raises UdsError
        .wait_closed(timeout=None) -> frames received until EOF (an Error
                                          frame before the close shows here)
        .close()
    UdsServer(path, endpoint_id="doc::controller")
        listens (the agent connects there in Mode Connect)
        .accept(timeout=10, handshake=True) -> UdsClient-like connection:
                                          waits for the agent's Handshake and
                                          answers with ours
        .close()

WebSocket (python3-websockets on a background asyncio thread)
    WsClient(url, endpoint_id="doc::controller", subprotocols=("v1.usp",),
             offer_extension=False, query_eid=True, ssl=None, timeout=5)
        connects to the agent: eid appended to the query (percent-encoded as
        R-WS.10c asks); offer_extension adds `bbf-usp-protocol; eid="..."`.
        Handshake failures raise websockets' exceptions.
        .subprotocol, .response_headers, .server_eid (the agent's eid from
        the extension answer, when offered)
    WsServer(host="127.0.0.1", port=0, endpoint_id="doc::controller",
             subprotocols=("v1.usp",), ssl=None)
        a Controller the agent connects to; subprotocols=() answers without
        Sec-WebSocket-Protocol (the agent must then give up, R-WS.12).
        .port, .url(path="/usp")
        .accept(timeout=10) -> connection with .path, .eid (from the query,
        decoded once), .ext_eid (from a bbf-usp-protocol offer; answered
        with ours), .request_headers, .subprotocol
        .stop()
    Both connections:
        .send_record(data), .send_text(text)
        .recv(timeout=None) -> bytes or str
        .recv_record(timeout=None, skip_connect=True) -> bytes
        .pings_received                   Ping frames seen so far
        .close(code=1000, reason="")
        .wait_closed(timeout=None) -> (close code, reason) the peer sent
"""
import asyncio
import queue
import re
import socket
import struct
import threading
import urllib.parse

import websockets
from websockets.frames import OP_PING

SUBPROTOCOL = "v1.usp"
EXTENSION = "bbf-usp-protocol"

# ---------------------------------------------------------------------------
# USP Records: the few fields of usp-record-1-4.proto tests look at
# ---------------------------------------------------------------------------

_KINDS = {7: "no_session_context", 8: "session_context", 9: "websocket_connect",
          10: "mqtt_connect", 11: "stomp_connect", 12: "disconnect", 13: "uds_connect"}
_KIND_FIELD = {v: k for k, v in _KINDS.items()}
_CONNECT_KINDS = {"websocket_connect", "mqtt_connect", "stomp_connect", "uds_connect"}


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num, wire, value):
    key = _varint(num << 3 | wire)
    if wire == 2:
        return key + _varint(len(value)) + value
    if wire == 5:
        return key + struct.pack("<I", value)
    return key + _varint(value)


def _fields(data):
    """Yield (field number, wire type, value) of one protobuf message."""
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _read_varint(data, i)
        elif wire == 2:
            n, i = _read_varint(data, i)
            val, i = data[i:i + n], i + n
        elif wire == 5:
            val, i = struct.unpack_from("<I", data, i)[0], i + 4
        elif wire == 1:
            val, i = struct.unpack_from("<Q", data, i)[0], i + 8
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield num, wire, val


def _read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def build_record(from_id, to_id, payload=b"", kind="no_session_context", version="1.4",
                 reason="", reason_code=0):
    body = b""
    if kind == "no_session_context":
        body = _field(2, 2, payload)
    elif kind == "disconnect":
        body = (_field(1, 2, reason.encode()) if reason else b"") + \
               (_field(2, 5, reason_code) if reason_code else b"")
    return (_field(1, 2, version.encode()) + _field(2, 2, to_id.encode()) +
            _field(3, 2, from_id.encode()) + _field(_KIND_FIELD[kind], 2, body))


def parse_record(data):
    """Decode the fields above; ValueError when data is not a USP Record."""
    rec = {"version": "", "to_id": "", "from_id": "", "payload_security": 0, "kind": None,
           "payload": b"", "reason": "", "reason_code": 0}
    try:
        for num, wire, val in _fields(bytes(data)):
            if num in (1, 2, 3) and wire == 2:
                rec[("version", "to_id", "from_id")[num - 1]] = val.decode()
            elif num == 4 and wire == 0:
                rec["payload_security"] = val
            elif num in _KINDS and wire == 2:
                rec["kind"] = _KINDS[num]
                for sub, swire, sval in _fields(val):
                    if num == 7 and sub == 2 and swire == 2:
                        rec["payload"] = sval
                    elif num == 12 and sub == 1 and swire == 2:
                        rec["reason"] = sval.decode()
                    elif num == 12 and sub == 2 and swire == 5:
                        rec["reason_code"] = sval
            elif num in (1, 2, 3, 4) or num in _KINDS:
                raise ValueError("field %d has wire type %d" % (num, wire))
    except (IndexError, struct.error, UnicodeDecodeError) as e:
        raise ValueError("not a USP Record: %s" % e) from e
    return rec


def is_connect_record(data):
    try:
        return parse_record(data)["kind"] in _CONNECT_KINDS
    except ValueError:
        return False


# ---------------------------------------------------------------------------
# UNIX domain sockets
# ---------------------------------------------------------------------------

HANDSHAKE, ERROR, RECORD = 1, 2, 3
_SYNC = b"_USP"


class UdsError(Exception):
    """The agent sent an Error frame."""


def frame(*tlvs):
    body = b"".join(struct.pack(">BI", t, len(v)) + bytes(v) for t, v in tlvs)
    return _SYNC + struct.pack(">I", len(body)) + body


class Framer:
    """Reassembles frames from a byte stream."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        frames = []
        while len(self.buf) >= 8:
            if self.buf[:4] != _SYNC:
                raise ValueError("bad frame header %r" % self.buf[:8])
            n = struct.unpack(">I", self.buf[4:8])[0]
            if len(self.buf) < 8 + n:
                break
            body, self.buf = self.buf[8:8 + n], self.buf[8 + n:]
            tlvs, i = [], 0
            while i < len(body):
                t, ln = struct.unpack_from(">BI", body, i)
                tlvs.append((t, body[i + 5:i + 5 + ln]))
                i += 5 + ln
            frames.append(tlvs)
        return frames


class UdsClient:
    def __init__(self, path, endpoint_id="doc::controller", timeout=5, handshake=True, sock=None):
        self.endpoint_id = endpoint_id
        self.timeout = timeout
        self.agent_id = None
        self.framer = Framer()
        self.frames = []
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(path)
        self.sock = sock
        if handshake:
            self.handshake()

    def handshake(self):
        self.send_tlv(HANDSHAKE, self.endpoint_id.encode())
        self.agent_id = self._wait_handshake()
        return self.agent_id

    def _wait_handshake(self, timeout=None):
        while True:
            tlvs = self.recv_frame(timeout)
            if tlvs is None:
                raise UdsError("connection closed before the Handshake")
            for t, v in tlvs:
                if t == HANDSHAKE:
                    return v.decode()
                if t == ERROR:
                    raise UdsError(v.decode(errors="replace"))

    def send_tlv(self, tlv_type, value):
        self.sock.sendall(frame((tlv_type, value)))

    def send_record(self, data):
        self.send_tlv(RECORD, data)

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_frame(self, timeout=None):
        """The next frame (a list of (type, value)), or None at EOF."""
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        while not self.frames:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                return None
            self.frames.extend(self.framer.feed(data))
        return self.frames.pop(0)

    def recv_record(self, timeout=None, skip_connect=True):
        while True:
            tlvs = self.recv_frame(timeout)
            if tlvs is None:
                raise UdsError("connection closed")
            for t, v in tlvs:
                if t == ERROR:
                    raise UdsError(v.decode(errors="replace"))
                if t == RECORD and not (skip_connect and is_connect_record(v)):
                    return v

    def wait_closed(self, timeout=None):
        got = []
        while True:
            tlvs = self.recv_frame(timeout)
            if tlvs is None:
                return got
            got.append(tlvs)

    def close(self):
        self.sock.close()


class UdsServer:
    def __init__(self, path, endpoint_id="doc::controller"):
        self.path = path
        self.endpoint_id = endpoint_id
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)

    def accept(self, timeout=10, handshake=True):
        self.sock.settimeout(timeout)
        s, _ = self.sock.accept()
        s.settimeout(timeout)
        conn = UdsClient(None, self.endpoint_id, timeout, handshake=False, sock=s)
        if handshake:
            conn.agent_id = conn._wait_handshake(timeout)   # the client speaks first (R-UDS.16)
            conn.send_tlv(HANDSHAKE, self.endpoint_id.encode())
        return conn

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------
# WebSocket
# ---------------------------------------------------------------------------

_loop = None
_loop_lock = threading.Lock()


def _run(coro, timeout=None):
    """Run a coroutine on the background loop and wait for its result."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, daemon=True, name="usp_mtp").start()
    return asyncio.run_coroutine_threadsafe(coro, _loop).result(timeout)


# websockets' legacy API binds to the running loop when called: call it there.
async def _connect(url, **kw):
    return await websockets.connect(url, **kw)


async def _serve(handler, host, port, **kw):
    return await websockets.serve(handler, host, port, **kw)


_EXT_RE = re.compile(EXTENSION + r'\s*;\s*eid\s*=\s*"?([^",;]*)"?')


def _ext_eid(headers):
    """The eid of a bbf-usp-protocol extension in these headers, or None.

    Parsed leniently: an Endpoint ID is not an RFC 6455 token (':'), which
    websockets' own parser rightly refuses, and why R-WS.10a went away."""
    for value in headers.get_all("Sec-WebSocket-Extensions"):
        m = _EXT_RE.search(value)
        if m:
            return m.group(1)
    return None


def _protocol(base, endpoint_id=None):
    """websockets' protocol class, counting Pings and doing bbf-usp-protocol."""
    class Protocol(base):
        pings_received = 0
        peer_ext_eid = None

        async def read_frame(self, max_size):
            f = await super().read_frame(max_size)
            if f.opcode == OP_PING:
                self.pings_received += 1
            return f

        def process_extensions(self, headers, available_extensions):
            self.peer_ext_eid = _ext_eid(headers)
            if base is websockets.WebSocketClientProtocol:
                return []
            # Server: answer an offer with our eid (R-WS.11a).
            if self.peer_ext_eid is None:
                return None, []
            return '%s; eid="%s"' % (EXTENSION, endpoint_id), []
    return Protocol


class _Conn:
    """Blocking calls on one websockets connection."""

    def __init__(self, ws, timeout):
        self.ws = ws
        self.timeout = timeout
        self.subprotocol = ws.subprotocol

    @property
    def pings_received(self):
        return self.ws.pings_received

    def send_record(self, data):
        _run(self.ws.send(bytes(data)), self.timeout)

    def send_text(self, text):
        _run(self.ws.send(text), self.timeout)

    def recv(self, timeout=None):
        t = self.timeout if timeout is None else timeout
        return _run(asyncio.wait_for(self.ws.recv(), t), t + 1)

    def recv_record(self, timeout=None, skip_connect=True):
        while True:
            data = self.recv(timeout)
            if not (skip_connect and isinstance(data, bytes) and is_connect_record(data)):
                return data

    def close(self, code=1000, reason=""):
        _run(self.ws.close(code, reason), self.timeout + 1)

    def wait_closed(self, timeout=None):
        t = self.timeout if timeout is None else timeout
        _run(asyncio.wait_for(self.ws.wait_closed(), t), t + 1)
        return self.ws.close_code, self.ws.close_reason


class WsClient(_Conn):
    def __init__(self, url, endpoint_id="doc::controller", subprotocols=(SUBPROTOCOL,),
                 offer_extension=False, query_eid=True, ssl=None, timeout=5):
        if query_eid:
            eid = urllib.parse.quote(endpoint_id, safe="-._~:")   # R-WS.10c
            url += ("&" if "?" in url else "?") + "eid=" + eid
        # Sent by hand: websockets would not quote the value (R-WS.10a).
        extra = [("Sec-WebSocket-Extensions", '%s; eid="%s"' % (EXTENSION, endpoint_id))] \
            if offer_extension else None
        ws = _run(_connect(
            url, subprotocols=list(subprotocols) or None, extra_headers=extra, compression=None,
            ping_interval=None, max_size=None, ssl=ssl, open_timeout=timeout,
            create_protocol=_protocol(websockets.WebSocketClientProtocol)), timeout + 1)
        super().__init__(ws, timeout)
        self.response_headers = ws.response_headers
        self.server_eid = ws.peer_ext_eid


class WsServer:
    def __init__(self, host="127.0.0.1", port=0, endpoint_id="doc::controller",
                 subprotocols=(SUBPROTOCOL,), ssl=None, timeout=5):
        self.endpoint_id = endpoint_id
        self.timeout = timeout
        self.conns = queue.Queue()
        self.server = _run(_serve(
            self._handler, host, port, subprotocols=list(subprotocols) or None,
            compression=None, ping_interval=None, max_size=None, ssl=ssl,
            create_protocol=_protocol(websockets.WebSocketServerProtocol, endpoint_id)),
            timeout)
        self.port = self.server.sockets[0].getsockname()[1]

    def url(self, path="/usp"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    async def _handler(self, ws, path=None):
        conn = _Conn(ws, self.timeout)
        conn.path = ws.path
        conn.request_headers = ws.request_headers
        query = urllib.parse.urlsplit(ws.path).query
        conn.eid = dict(urllib.parse.parse_qsl(query)).get("eid")
        conn.ext_eid = ws.peer_ext_eid
        self.conns.put(conn)
        await ws.wait_closed()

    def accept(self, timeout=10):
        return self.conns.get(timeout=timeout)

    def stop(self):
        self.server.close()
        _run(self.server.wait_closed(), self.timeout)
