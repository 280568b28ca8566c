"""MQTT helpers for the integration tests: a private mosquitto broker and a
USP Controller on it (paho-mqtt), plus a small USP Record codec.

Broker
  b = Broker()                 mosquitto on 127.0.0.1, a free port, a config
                               generated in a temporary directory (listener,
                               allow_anonymous, persistence off,
                               set_tcp_nodelay); started at once.
  b = Broker(tls=(cafile, certfile, keyfile), require_certificate=False)
                               the same plus a second listener speaking TLS
                               with that certificate and key (PEM); client
                               certificates are checked against cafile, and
                               required with require_certificate. mosquitto
                               started as root reads them as its own user:
                               they must be readable by all.
  b.port, b.log_path           where it listens, where it logs.
  b.tls_port                   the TLS listener's port (None without tls).
  b.stop()                     terminate it (the port stays ours to reuse).
  b.start()                    start it again on the same port.
  b.restart(pause=0)           stop, wait pause seconds, start.
  b.close()                    stop and remove the directory. Also a
                               context manager: `with Broker() as b:`.
  free_port()                  an unused TCP port on 127.0.0.1.

Controller
  c = Controller(b.port, endpoint_id, topic, version=5)
                               a paho client (MQTT 5.0 or 3.1.1 when
                               version=3) connected and subscribed to its
                               own topic (3.1.1: also topic/#, where
                               "/reply-to=" suffixed topics land), again
                               after each reconnection.
  c.send(agent_topic, record, qos=1)
                               publish a Record with this Controller's
                               "reply to" topic: the Response Topic property
                               and Content Type "usp.msg" in 5.0 (R-MQTT.23,
                               R-MQTT.27), "/reply-to=<topic with / as %2F>"
                               appended to the topic name in 3.1.1
                               (R-MQTT.24).
  c.recv(timeout=5) -> Received or raises queue.Empty
                               Received: topic, payload, response_topic,
                               content_type, reply_to (5.0: the Response
                               Topic; 3.1.1: decoded from the topic, R-MQTT.25),
                               qos, retain.
  c.drain()                    drop whatever was received so far.
  c.close()

Records (hand-written protobuf, usp-record-1-4.proto field numbers)
  record_no_session(to_id, from_id, payload) -> bytes
  record_mqtt_connect(to_id, from_id, v5, subscribed_topic) -> bytes
  parse_record(data) -> dict with version, to_id, from_id, kind
                               ("no_session", "mqtt_connect", "disconnect",
                               ...), and payload / mqtt_version +
                               subscribed_topic / reason + reason_code.
  protos() -> (usp_record_1_4_pb2, usp_msg_1_4_pb2), compiled from proto/
                               with protoc into a temporary directory, for
                               tests that build USP Messages.
"""
import importlib
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
CT_USP = "usp.msg"
REPLY_TO = "/reply-to="


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


class Broker:
    """A private mosquitto; see the module docstring."""

    def __init__(self, port=0, start=True, tls=None, require_certificate=False):
        self.dir = tempfile.mkdtemp(prefix="duet-mqtt-")
        self.port = port or free_port()
        self.tls_port = free_port() if tls else None
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\n" % self.port)
            if tls:
                cafile, certfile, keyfile = tls
                f.write("listener %d 127.0.0.1\n" % self.tls_port)
                f.write("cafile %s\ncertfile %s\nkeyfile %s\n" % (cafile, certfile, keyfile))
                f.write("require_certificate %s\n" % ("true" if require_certificate else "false"))
            f.write("allow_anonymous true\n")
            f.write("persistence false\n")
            f.write("set_tcp_nodelay true\n")
            f.write("log_dest file %s\n" % self.log_path)
            f.write("log_type all\n")
        self.proc = None
        if start:
            self.start()

    def start(self, timeout=5):
        if self.proc:
            return
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in (self.port, self.tls_port):
            if port and not _wait_port(port, timeout):
                self.stop()
                raise RuntimeError("mosquitto did not start on port %d" % port)

    def stop(self):
        if not self.proc:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self, pause=0):
        self.stop()
        if pause:
            time.sleep(pause)
        self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Received:
    def __init__(self, msg, v5):
        self.topic = msg.topic
        self.payload = msg.payload
        self.qos = msg.qos
        self.retain = msg.retain
        props = getattr(msg, "properties", None) if v5 else None
        self.response_topic = getattr(props, "ResponseTopic", None) if props else None
        self.content_type = getattr(props, "ContentType", None) if props else None
        if self.response_topic:
            self.reply_to = self.response_topic
        elif REPLY_TO in self.topic:
            self.reply_to = self.topic.rsplit(REPLY_TO, 1)[1].replace("%2F", "/")
        else:
            self.reply_to = None

    def __repr__(self):
        return "Received(%r, %d bytes, reply_to=%r)" % (self.topic, len(self.payload), self.reply_to)


class Controller:
    """A USP Controller's MQTT side; see the module docstring."""

    def __init__(self, port, endpoint_id, topic, version=5, client_id=None, timeout=5):
        self.endpoint_id = endpoint_id
        self.topic = topic
        self.v5 = version == 5
        self.inbox = queue.Queue()
        proto = mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311
        cid = client_id if client_id is not None else "ctl-%d-%s" % (os.getpid(), topic.replace("/", "_"))
        self.client = mqtt.Client(client_id=cid, protocol=proto)
        self.client.on_message = lambda c, u, m: self.inbox.put(Received(m, self.v5))
        self.filters = [(topic, 1)] if self.v5 else [(topic, 1), (topic + "/#", 1)]
        subscribed = queue.Queue()
        self.client.on_subscribe = lambda *a: subscribed.put(True)
        # (Re)subscribe on every connection: paho reconnects by itself after
        # a broker restart, and a clean session has forgotten the filters.
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()
        subscribed.get(timeout=timeout)

    def _on_connect(self, client, *args):
        # paho leaves Nagle on: small records would wait for delayed ACKs.
        sock = client.socket()
        if sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.subscribe(self.filters)

    def send(self, agent_topic, record, qos=1):
        if self.v5:
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = self.topic
            props.ContentType = CT_USP
            info = self.client.publish(agent_topic, record, qos=qos, properties=props)
        else:
            name = agent_topic + REPLY_TO + self.topic.replace("/", "%2F")
            info = self.client.publish(name, record, qos=qos)
        return info

    def recv(self, timeout=5):
        return self.inbox.get(timeout=timeout)

    def drain(self):
        while True:
            try:
                self.inbox.get_nowait()
            except queue.Empty:
                return

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


# ---- USP Records, by hand ---------------------------------------------------

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _field_varint(num, value):
    return _varint(num << 3) + _varint(value) if value else b""


def record_no_session(to_id, from_id, payload, version="1.4"):
    body = _field_bytes(2, payload)
    return (_field_bytes(1, version) + _field_bytes(2, to_id) + _field_bytes(3, from_id) +
            _field_bytes(7, body))


def record_mqtt_connect(to_id, from_id, v5, subscribed_topic, version="1.4"):
    body = _field_varint(1, 1 if v5 else 0) + _field_bytes(2, subscribed_topic)
    return (_field_bytes(1, version) + _field_bytes(2, to_id) + _field_bytes(3, from_id) +
            _field_bytes(10, body))


def _read_varint(data, i):
    shift = n = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _fields(data):
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(data, i)
        elif wt == 2:
            ln, i = _read_varint(data, i)
            v, i = data[i:i + ln], i + ln
        elif wt == 5:
            v, i = int.from_bytes(data[i:i + 4], "little"), i + 4
        elif wt == 1:
            v, i = int.from_bytes(data[i:i + 8], "little"), i + 8
        else:
            raise ValueError("wire type %d" % wt)
        yield num, v


_KINDS = {7: "no_session", 8: "session", 9: "websocket_connect", 10: "mqtt_connect",
          11: "stomp_connect", 12: "disconnect", 13: "uds_connect"}


def parse_record(data):
    r = {"version": "", "to_id": "", "from_id": "", "kind": None}
    for num, v in _fields(bytes(data)):
        if num in (1, 2, 3):
            r[{1: "version", 2: "to_id", 3: "from_id"}[num]] = v.decode()
        elif num in _KINDS:
            r["kind"] = _KINDS[num]
            sub = dict(_fields(v))
            if num == 7:
                r["payload"] = bytes(sub.get(2, b""))
            elif num == 10:
                r["mqtt_version"] = "5" if sub.get(1, 0) == 1 else "3.1.1"
                r["subscribed_topic"] = bytes(sub.get(2, b"")).decode()
            elif num == 12:
                r["reason"] = bytes(sub.get(1, b"")).decode()
                r["reason_code"] = sub.get(2, 0)
    return r


_PROTOS = None


def protos():
    global _PROTOS
    if _PROTOS:
        return _PROTOS
    out = tempfile.mkdtemp(prefix="duet-proto-")
    proto_dir = os.path.join(ROOT, "proto")
    subprocess.run(["protoc", "--proto_path=" + proto_dir, "--python_out=" + out,
                    os.path.join(proto_dir, "usp-record-1-4.proto"),
                    os.path.join(proto_dir, "usp-msg-1-4.proto")], check=True)
    sys.path.insert(0, out)
    _PROTOS = (importlib.import_module("usp_record_1_4_pb2"), importlib.import_module("usp_msg_1_4_pb2"))
    return _PROTOS
