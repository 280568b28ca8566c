"""USP MTP bindings end to end, against the real duetd.

UNIX domain sockets: byte-exact exchanges (tests/data/usp/uds-*.txt), the
Handshake rules (R-UDS.15 to R-UDS.25), framing across reads, several
Controllers, and the agent as UDS client.
WebSocket: the agent as server (subprotocol v1.usp, R-WS.9 to R-WS.16),
as client of a Controller's server (eid query, WebSocketConnect Record,
retry), and run-time reconfiguration through a Set of its MTP.
MQTT 5.0 and 3.1.1 with a private mosquitto: MQTTConnect Record, Content
Type and Response Topic, "/reply-to=", Notify, undecodable PUBLISHes, and
switching brokers with a Set.
TLS, with a throw-away CA made by the openssl CLI: MQTT over TLS to a
mosquitto TLS listener, the agent's wss server (Controllers must present a
certificate, R-MTP.1), the agent as wss client; certificates of another CA
and of another host name are refused.

Tests skip when protoc, python3-websockets, paho, mosquitto or openssl is
missing.
"""
import asyncio
import atexit
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from usp_controller import (AGENT_ID, CONTROLLER_ID, DATA_DIR, TIMEOUT, TLV_ERROR, TLV_HANDSHAKE,  # noqa: E402
                            TLV_RECORD, AgentCase, Controller, NeedsCase, MqttTransport, NoAnswer, Unavailable, UdsLink,
                            UdsServer, UspAgent, WsServer, broker, controller_lines, describe_record, free_port, get_msg,
                            get_values, load_exchange, mqtt, mtp, notify_of, parse_msg, parse_record, pb, record,
                            record_kind, reply_to_suffix, status, uds_frame, ws_connect)

AGENT_TOPIC = "usp/agent/DG0000000001"  # ResponseTopicConfigured in the factory defaults


def wait_port(port, up=True, timeout=TIMEOUT):
    """True once 127.0.0.1:port accepts (up) or refuses (not up)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            if up:
                return True
        except OSError:
            if not up:
                return True
        time.sleep(0.05)
    return False


def need(fn):
    """Run fn; skip the test class or test when it raises Unavailable."""
    try:
        return fn()
    except Unavailable as e:
        raise unittest.SkipTest(str(e))


# ---------------------------------------------------------------------------
# UNIX domain sockets
# ---------------------------------------------------------------------------

class UdsBinding(AgentCase):

    def link(self):
        link = UdsLink(self.agent.usp_sock)
        self.addCleanup(link.close)
        return link

    def handshake(self, link, endpoint_id=CONTROLLER_ID):
        link.send_tlv(TLV_HANDSHAKE, endpoint_id.encode())
        self.assertEqual(link.recv_frame(), [(TLV_HANDSHAKE, AGENT_ID.encode())])
        tlvs = link.recv_frame()
        self.assertEqual([t for t, _ in tlvs], [TLV_RECORD])
        self.assertEqual(record_kind(parse_record(tlvs[0][1])), "uds_connect")

    def answer(self, link, msg_id):
        """The Msg in the next Record TLV, checked to answer msg_id."""
        tlvs = link.recv_frame()
        self.assertEqual([t for t, _ in tlvs], [TLV_RECORD], tlvs)
        r = parse_record(tlvs[0][1])
        m = parse_msg(r.no_session_context.payload)
        self.assertEqual(m.header.msg_id, msg_id)
        return m

    def test_byte_exact_exchanges(self):
        files = sorted(f for f in os.listdir(DATA_DIR) if f.startswith("uds-") and f.endswith(".txt"))
        self.assertTrue(files)
        for name in files:
            with self.subTest(file=name):
                link = self.link()
                for i, (d, data) in enumerate(load_exchange(name)):
                    if d == ">":
                        link.send_raw(data)
                        continue
                    got = link.recv_exact(len(data))
                    if got != data:
                        self.fail("%s, unit %d:\n expected %s\n      got %s\n%s" % (
                            name, i, data.hex(), got.hex(), self.explain(data, got)))

    @staticmethod
    def explain(want, got):
        out = []
        for label, data in (("expected", want), ("got", got)):
            try:
                out.append("%s: %s" % (label, describe_record(data[13:])))
            except Exception as e:
                out.append("%s: (not a Record TLV: %s)" % (label, e))
        return "\n".join(out)

    def test_handshake_and_connect_record(self):
        link = self.link()
        self.handshake(link)

    def test_record_before_handshake_is_ignored(self):
        # R-UDS.20
        link = self.link()
        link.send_tlv(TLV_RECORD, record(get_msg("early", ["Device.DeviceInfo."]).SerializeToString()))
        self.handshake(link)
        link.send_tlv(TLV_RECORD, record(get_msg("after", ["Device.DeviceInfo.ProductClass"]).SerializeToString()))
        self.answer(link, "after")

    def test_unknown_tlv_types_are_ignored(self):
        # R-UDS.15: a frame may carry TLVs of types we do not know
        link = self.link()
        self.handshake(link)
        rec = record(get_msg("tlv-9", ["Device.DeviceInfo.ProductClass"]).SerializeToString())
        link.send_raw(uds_frame((9, b"from the future"), (TLV_RECORD, rec)))
        self.answer(link, "tlv-9")

    def test_frames_split_and_coalesced(self):
        link = self.link()
        self.handshake(link)
        f1 = uds_frame((TLV_RECORD, record(get_msg("split", ["Device.DeviceInfo.ProductClass"]).SerializeToString())))
        for i in range(0, len(f1), 7):
            link.send_raw(f1[i:i + 7])
            time.sleep(0.002)
        self.answer(link, "split")
        f2 = uds_frame((TLV_RECORD, record(get_msg("two-a", ["Device.DeviceInfo."]).SerializeToString())))
        f3 = uds_frame((TLV_RECORD, record(get_msg("two-b", ["Device.DeviceInfo.ProductClass"]).SerializeToString())))
        link.send_raw(f2 + f3)
        self.answer(link, "two-a")
        self.answer(link, "two-b")

    def test_garbage_gets_an_error_frame_and_a_close(self):
        # R-UDS.24: a frame that cannot be parsed
        link = self.link()
        link.send_raw(b"GET / HTTP/1.1\r\nHost: duet\r\n\r\n")
        closed, frames = link.wait_closed()
        self.assertTrue(closed, "connection still open after garbage")
        self.assertIn(TLV_ERROR, [t for f in frames for t, _ in f])

    def test_undecodable_record_gets_an_error_frame_and_a_close(self):
        # R-UDS.23, with the spec's own example: text instead of a Record
        link = self.link()
        self.handshake(link)
        link.send_tlv(TLV_RECORD, b"this is not a record")
        closed, frames = link.wait_closed()
        self.assertTrue(closed, "connection still open after an undecodable Record")
        self.assertIn(TLV_ERROR, [t for f in frames for t, _ in f])

    def test_error_frame_closes(self):
        # R-UDS.25
        link = self.link()
        self.handshake(link)
        link.send_tlv(TLV_ERROR, b"test Controller gives up")
        closed, frames = link.wait_closed()
        self.assertTrue(closed)
        self.assertEqual([t for f in frames for t, _ in f if t == TLV_RECORD], [])

    def test_bad_handshake_gets_an_error_frame(self):
        # R-UDS.21: an empty Endpoint ID cannot be processed
        link = self.link()
        link.send_tlv(TLV_HANDSHAKE, b"")
        closed, frames = link.wait_closed()
        self.assertIn(TLV_ERROR, [t for f in frames for t, _ in f])
        self.assertNotIn(TLV_RECORD, [t for f in frames for t, _ in f])

    def test_several_controllers(self):
        a = self.agent.controller("proto::duet-uds-a")
        b = self.agent.controller("proto::duet-uds-b")
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        # each answer is addressed to its own Controller (checked on receipt)
        a.send_msg(get_msg("a-1", ["Device.DeviceInfo.ProductClass"]))
        b.send_msg(get_msg("b-1", ["Device.DeviceInfo.ProductClass"]))
        self.assertEqual(b.wait_response("b-1").header.msg_id, "b-1")
        self.assertEqual(a.wait_response("a-1").header.msg_id, "a-1")
        self.assertEqual(a.answers_to("b-1") + b.answers_to("a-1"), [])


class UdsAgentAsClient(unittest.TestCase):
    """Device.UnixDomainSockets in Connect mode: the agent dials the
    Controller's socket and sends its Handshake first (R-UDS.16)."""

    def test_agent_connects_to_a_controller_socket(self):
        need(pb)
        need(mtp)
        agent = UspAgent()
        self.addCleanup(agent.cleanup)
        path = os.path.join(agent.tmp, "controller.sock")
        server = UdsServer(path)
        self.addCleanup(server.close)
        with open(agent.defaults, "a") as f:
            f.write("\n".join([
                "Device.UnixDomainSockets.UnixDomainSocket.1.Mode Connect",
                "Device.UnixDomainSockets.UnixDomainSocket.1.Path " + path,
                "Device.LocalAgent.Controller.1.MTP.1.Protocol UDS",
                "Device.LocalAgent.Controller.1.MTP.1.Enable true",
                "Device.LocalAgent.Controller.1.MTP.1.UDS.UnixDomainSocketRef "
                "Device.UnixDomainSockets.UnixDomainSocket.1"]) + "\n")
        agent.start()
        t = server.accept()
        self.addCleanup(t.close)
        self.assertEqual(t.peer_id, AGENT_ID)
        ctl = Controller(t)
        self.assertEqual(record_kind(ctl.recv_record()), "uds_connect")
        self.assertEqual(ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")


# ---------------------------------------------------------------------------
# WebSocket
# ---------------------------------------------------------------------------

def ws_server_lines(inst, port, path="/usp", keepalive=None, tls=False):
    p = "Device.LocalAgent.MTP.%d." % inst
    lines = [p + "Protocol WebSocket", p + "Enable true", p + "WebSocket.Port %d" % port,
             p + "WebSocket.Path " + path, p + "WebSocket.EnableEncryption " + ("true" if tls else "false")]
    if keepalive:
        lines.append(p + "WebSocket.KeepAliveInterval %d" % keepalive)
    return lines


def ws_controller_lines(ctl, mtp, port, path="/controller", tls=False):
    p = "Device.LocalAgent.Controller.%d.MTP.%d." % (ctl, mtp)
    return [p + "Protocol WebSocket", p + "Enable true", p + "WebSocket.Host 127.0.0.1",
            p + "WebSocket.Port %d" % port, p + "WebSocket.Path " + path,
            p + "WebSocket.EnableEncryption " + ("true" if tls else "false"),
            p + "WebSocket.SessionRetryMinimumWaitInterval 1", p + "WebSocket.SessionRetryIntervalMultiplier 1000"]


class WebSocketAgentServer(AgentCase):
    """The agent listening (Device.LocalAgent.MTP.2, plain ws)."""

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.defaults_extra = ws_server_lines(2, cls.port, keepalive=1)
        super().setUpClass()
        if cls.unavailable:
            return
        if not wait_port(cls.port):
            raise AssertionError("the agent does not listen on WebSocket port %d:\n%s" %
                                 (cls.port, cls.agent.read_log()[-2000:]))

    def url(self):
        return "ws://127.0.0.1:%d/usp" % self.port

    def session(self, endpoint_id=CONTROLLER_ID):
        conn = ws_connect(self.url(), endpoint_id)
        self.addCleanup(conn.close)
        return conn, Controller(conn, endpoint_id, AGENT_ID)

    def test_session_with_v1_usp(self):
        conn, ctl = self.session()
        self.assertEqual(conn.subprotocol, "v1.usp")  # R-WS.11
        first = ctl.recv_record()
        self.assertEqual(record_kind(first), "websocket_connect")  # R-MTP.6
        self.assertEqual(ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")
        self.assertEqual(ctl.get_supported_proto().agent_supported_protocol_versions, "1.0,1.1,1.2,1.3,1.4")

    def test_no_subprotocol_no_session(self):
        # R-WS.12a
        try:
            conn = ws_connect(self.url(), CONTROLLER_ID, subprotocols=())
        except NoAnswer:
            raise
        except Exception:
            return  # refused during the opening handshake
        self.addCleanup(conn.close)
        self.assertIsNotNone(conn.wait_closed(3), "session established without Sec-WebSocket-Protocol")

    def test_undecodable_record_closes_with_1003(self):
        # R-WS.16
        conn, ctl = self.session()
        conn.send(b"this is not a record")
        self.assertEqual(conn.wait_closed(), 1003)

    def test_text_message_closes_with_1003(self):
        conn, ctl = self.session()
        conn.send_text("Get Device.")
        self.assertEqual(conn.wait_closed(), 1003)

    def test_fragmented_record(self):
        # R-WS.14b
        conn, ctl = self.session()
        data = record(get_msg("frag-1", ["Device.DeviceInfo.ProductClass"]).SerializeToString())
        parts = [data[:5], data[5:20], data[20:]]
        conn.run(conn.ws.send(parts))
        m = ctl.wait_response("frag-1")
        self.assertEqual(get_values(m.body.response.get_resp), {"Device.DeviceInfo.ProductClass": "DuetGW"})

    def test_ping_is_answered(self):
        # R-WS.13, R-WS.17
        conn, ctl = self.session()

        async def ping():
            waiter = await conn.ws.ping(b"duet")
            await asyncio.wait_for(waiter, 3)
            return True
        self.assertTrue(conn.run(ping(), 4))

    def test_agent_sends_pings(self):
        # R-WS.17, R-WS.18: KeepAliveInterval 1 s on this MTP
        conn, ctl = self.session()
        deadline = time.time() + 3
        while time.time() < deadline and conn.conn.pings_received == 0:
            time.sleep(0.05)
        self.assertGreater(conn.conn.pings_received, 0, "no Ping within 3 s, KeepAliveInterval is 1 s")

    def test_responses_stay_on_their_session(self):
        ws_conn, ws_ctl = self.session("proto::duet-ws-only")
        ws_ctl.send_msg(get_msg("ws-1", ["Device.DeviceInfo.ProductClass"]))
        self.assertEqual(ws_ctl.wait_response("ws-1").header.msg_type, pb().msg.Header.GET_RESP)


class WebSocketRuntimeConfig(AgentCase):
    """A WebSocket MTP added, moved and disabled through USP at run time."""

    def test_add_move_and_disable_the_server(self):
        p1, p2 = free_port(), free_port()
        path = self.ctl.add_one("Device.LocalAgent.MTP.", {
            "Protocol": "WebSocket", "Enable": "true", "WebSocket.Port": str(p1), "WebSocket.Path": "/usp",
            "WebSocket.EnableEncryption": "false"})
        self.assertTrue(wait_port(p1), "no listener after the Add:\n" + self.agent.read_log()[-2000:])
        conn = ws_connect("ws://127.0.0.1:%d/usp" % p1)
        self.addCleanup(conn.close)
        self.assertEqual(Controller(conn, agent_id=AGENT_ID).value("Device.DeviceInfo.ProductClass"), "DuetGW")
        self.ctl.set({path + "WebSocket.": {"Port": str(p2)}})
        self.assertTrue(wait_port(p2), "no listener on the new port after the Set")
        self.assertTrue(wait_port(p1, up=False), "old port still listening after the Set")
        conn2 = ws_connect("ws://127.0.0.1:%d/usp" % p2)
        self.addCleanup(conn2.close)
        self.assertEqual(Controller(conn2, agent_id=AGENT_ID).value("Device.DeviceInfo.ProductClass"), "DuetGW")
        self.ctl.set({path: {"Enable": "false"}})
        self.assertTrue(wait_port(p2, up=False), "still listening after Enable false")


class WebSocketAgentClient(NeedsCase):
    """The agent dials a Controller's WebSocket server
    (Device.LocalAgent.Controller.1.MTP.1)."""

    @classmethod
    def setUpClass(cls):
        if not cls.needs(pb, mtp):
            return
        cls.server = WsServer()
        cls.agent = UspAgent(defaults_extra=ws_controller_lines(1, 1, cls.server.port) + [
            "Device.LocalAgent.Controller.1.USPNotifRetryMinimumWaitInterval 1"])
        try:
            cls.agent.start()
            cls.admin = cls.agent.admin()
            cls.conn = cls.server.accept()
        except Exception:
            cls.agent.cleanup()
            cls.server.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.unavailable:
            return
        cls.admin.close()
        cls.agent.cleanup()
        cls.server.close()
        other, conn = cls.__dict__.get("moved", (None, None))
        if conn is not None:
            conn.close()
        if other is not None:
            other.close()

    def test_1_opening_handshake(self):
        # R-WS.10, R-WS.10b: v1.usp offered, our EndpointID in the eid query
        path, _, query = self.conn.path.partition("?")
        self.assertEqual(path, "/controller")
        self.assertEqual(urllib.parse.parse_qs(query).get("eid"), [AGENT_ID])
        self.assertIn("v1.usp", self.conn.request_protocols)
        self.assertEqual(self.conn.subprotocol, "v1.usp")

    def test_2_connect_record_then_requests(self):
        ctl = Controller(self.conn, agent_id=AGENT_ID)
        first = ctl.recv_record()
        self.assertEqual(record_kind(first), "websocket_connect")
        self.assertEqual(ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")

    def test_3_notify_over_the_agent_session(self):
        ctl = Controller(self.conn, agent_id=AGENT_ID)
        path = ctl.add_one("Device.LocalAgent.Subscription.", {
            "ID": "ws-vc", "NotifType": "ValueChange", "ReferenceList": "Device.DeviceInfo.FriendlyName",
            "Enable": "true"})
        self.admin.request("set", "Device.DeviceInfo.FriendlyName", "via-websocket")
        m = ctl.wait_notify(lambda m, n: n.subscription_id == "ws-vc")
        self.assertEqual(notify_of(m).value_change.param_value, "via-websocket")
        ctl.delete(path)

    def test_4_session_retried_after_a_close(self):
        # R-WS.19 with m = 1 s, k = 1000: back within a few seconds
        self.conn.close()
        conn = self.server.accept(timeout=4)
        type(self).conn = conn
        ctl = Controller(conn, agent_id=AGENT_ID)
        self.assertEqual(ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")

    def test_5_set_moves_the_session(self):
        # run-time reconfiguration: a Set (here over the UNIX socket) of the
        # Controller's MTP makes the agent dial the new address
        other = WsServer()
        type(self).moved = (other, None)  # closed in tearDownClass
        uds = self.agent.controller()
        self.addCleanup(uds.close)
        uds.set({"Device.LocalAgent.Controller.1.MTP.1.WebSocket.": {"Port": str(other.port)}})
        conn = other.accept(timeout=4)
        ctl2 = Controller(conn, agent_id=AGENT_ID)
        self.assertEqual(record_kind(ctl2.recv_record()), "websocket_connect")
        self.assertEqual(ctl2.value("Device.DeviceInfo.ProductClass"), "DuetGW")
        type(self).moved = (other, conn)

    def test_6_set_over_the_session_it_moves_is_answered(self):
        # R-MSG.0: the SetResp still reaches the Controller whose Set moves
        # the very session it came on
        other, conn = getattr(type(self), "moved", (None, None))
        if conn is None:
            self.skipTest("test_5 did not move the session")
        ctl = Controller(conn, agent_id=AGENT_ID)
        resp = ctl.set({"Device.LocalAgent.Controller.1.MTP.1.WebSocket.": {"Port": str(self.server.port)}})
        self.assertEqual(status(resp.updated_obj_results[0])[0], "success")
        back = self.server.accept(timeout=4)
        self.addCleanup(back.close)
        self.assertEqual(Controller(back, agent_id=AGENT_ID).value("Device.DeviceInfo.ProductClass"), "DuetGW")


# ---------------------------------------------------------------------------
# MQTT
# ---------------------------------------------------------------------------

CONTROLLER_TOPIC = "usp/controller/duet-test"


def mqtt_lines(port, version):
    return ["Device.MQTT.Client.1.BrokerPort %d" % port,
            "Device.MQTT.Client.1.ProtocolVersion " + version,
            "Device.MQTT.Client.1.Enable true",
            "Device.LocalAgent.MTP.1.Enable true",
            "Device.LocalAgent.Controller.1.MTP.1.Protocol MQTT",
            "Device.LocalAgent.Controller.1.MTP.1.Enable true",
            "Device.LocalAgent.Controller.1.MTP.1.MQTT.Topic " + CONTROLLER_TOPIC]


class MqttCase(NeedsCase):
    """A private broker, the test Controller on it, then the agent
    configured (factory defaults) for that broker."""
    version = 5
    dm_version = "5.0"

    @classmethod
    def setUpClass(cls):
        if not cls.needs(pb, mtp, mqtt):
            return
        cls.broker = broker()
        try:
            cls.t = MqttTransport(cls.broker.port, AGENT_TOPIC, CONTROLLER_TOPIC, cls.version)
            cls.ctl = Controller(cls.t, agent_id=AGENT_ID)
            cls.agent = UspAgent(defaults_extra=mqtt_lines(cls.broker.port, cls.dm_version))
            cls.agent.start()
            cls.admin = cls.agent.admin()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.unavailable:
            return
        for name in ("admin", "t"):
            if name in cls.__dict__:
                cls.__dict__[name].close()
        if "agent" in cls.__dict__:
            cls.agent.cleanup()
        cls.broker.close()

    def test_1_connect_record(self):
        # R-MTP.6: MQTTConnect to the Controller's topic, naming the agent's
        r = self.ctl.wait_connect_record("mqtt_connect", timeout=TIMEOUT)
        R = pb().rec.MQTTConnectRecord
        self.assertEqual(r.mqtt_connect.version, R.V5 if self.version == 5 else R.V3_1_1)
        self.assertEqual(r.mqtt_connect.subscribed_topic, AGENT_TOPIC)
        self.check_publish(self.t.received[-1])
        self.assertEqual(self.admin.value("Device.MQTT.Client.1.Status"), "Connected")
        self.assertEqual(self.admin.value("Device.LocalAgent.MTP.1.Status"), "Up")

    def check_publish(self, pub):
        if self.version == 5:
            self.assertEqual(pub.topic, CONTROLLER_TOPIC)
            self.assertEqual(pub.content_type, "usp.msg")  # R-MQTT.27
            self.assertEqual(pub.response_topic, AGENT_TOPIC)  # R-MQTT.23
        else:
            self.assertEqual(pub.topic, CONTROLLER_TOPIC + reply_to_suffix(AGENT_TOPIC))  # R-MQTT.24

    def test_2_requests(self):
        self.assertEqual(self.ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")
        self.check_publish(self.t.received[-1])
        resp = self.ctl.get_supported_proto()
        self.assertEqual(resp.agent_supported_protocol_versions, "1.0,1.1,1.2,1.3,1.4")

    def test_3_undecodable_record_is_dropped(self):
        self.t.send(b"this is not a record")
        self.assertEqual(self.ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")

    def test_4_notify(self):
        path = self.ctl.add_one("Device.LocalAgent.Subscription.", {
            "ID": "mqtt-vc", "NotifType": "ValueChange", "ReferenceList": "Device.DeviceInfo.FriendlyName",
            "Enable": "true"})
        self.admin.request("set", "Device.DeviceInfo.FriendlyName", "via-mqtt")
        m = self.ctl.wait_notify(lambda m, n: n.subscription_id == "mqtt-vc")
        self.assertEqual(notify_of(m).value_change.param_value, "via-mqtt")
        self.ctl.delete(path)

    def test_5_set_moves_to_another_broker(self):
        other = need(broker)
        self.addCleanup(other.close)
        t2 = MqttTransport(other.port, AGENT_TOPIC, CONTROLLER_TOPIC, self.version, client_id="duet-test-2")
        self.addCleanup(t2.close)
        # the agent leaves the first broker
        ctl2 = Controller(t2, agent_id=AGENT_ID)
        self.ctl.set({"Device.MQTT.Client.1.": {"BrokerPort": str(other.port)}})
        ctl2.wait_connect_record("mqtt_connect", timeout=TIMEOUT)
        self.assertEqual(ctl2.value("Device.DeviceInfo.ProductClass"), "DuetGW")


class Mqtt5(MqttCase):
    version = 5
    dm_version = "5.0"


class Mqtt311(MqttCase):
    version = 3
    dm_version = "3.1.1"


del MqttCase  # only the two versions run


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------

class Pki:
    """A throw-away CA and certificates (EC P-256, PEM) in a temporary
    directory, made with the openssl CLI. name -> (certificate, key) paths:
      server      signed by the CA, for 127.0.0.1 and localhost (and the
                  agent's Endpoint ID): every TLS server of the tests
      client      signed by the CA: every TLS client that authenticates
      rogue       like server, signed by another CA
      wrong-name  signed by the CA, for elsewhere.example only
    The files are readable by all: mosquitto started as root reads them as
    its own user."""

    def __init__(self):
        if not shutil.which("openssl"):
            raise Unavailable("openssl CLI not found (apt-get install openssl)")
        self.dir = tempfile.mkdtemp(prefix="duet-pki-")
        os.chmod(self.dir, 0o755)
        atexit.register(shutil.rmtree, self.dir, True)
        self.ca = self._ca("ca", "duet test CA")
        self._ca("other-ca", "duet other CA")
        self._leaf("server", "ca", "127.0.0.1",
                   "IP:127.0.0.1,DNS:localhost,URI:urn:bbf:usp:id:" + AGENT_ID)
        self._leaf("client", "ca", "duet-test-controller", "URI:urn:bbf:usp:id:" + CONTROLLER_ID)
        self._leaf("rogue", "other-ca", "127.0.0.1", "IP:127.0.0.1,DNS:localhost")
        self._leaf("wrong-name", "ca", "elsewhere.example", "DNS:elsewhere.example")

    def path(self, name, ext):
        return os.path.join(self.dir, name + "." + ext)

    def pair(self, name):
        return self.path(name, "pem"), self.path(name, "key")

    def _openssl(self, *args):
        p = subprocess.run(("openssl",) + args, capture_output=True, text=True, cwd=self.dir)
        if p.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" % (args[0], p.stderr.strip()))

    def _key_args(self, name):
        return ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.path(name, "key"))

    def _ca(self, name, cn):
        self._openssl("req", "-x509", *self._key_args(name), "-out", self.path(name, "pem"), "-days", "2",
                      "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        os.chmod(self.path(name, "key"), 0o644)
        return self.path(name, "pem")

    def _leaf(self, name, ca, cn, san):
        with open(self.path(name, "ext"), "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n" % san)
        self._openssl("req", "-new", *self._key_args(name), "-out", self.path(name, "csr"), "-subj", "/CN=" + cn)
        self._openssl("x509", "-req", "-in", self.path(name, "csr"), "-CA", self.path(ca, "pem"),
                      "-CAkey", self.path(ca, "key"), "-CAcreateserial", "-days", "2",
                      "-extfile", self.path(name, "ext"), "-out", self.path(name, "pem"))
        os.chmod(self.path(name, "key"), 0o644)

    def client_context(self, cert=None):
        """A TLS client context trusting the CA, presenting cert if given."""
        ctx = ssl.create_default_context(cafile=self.ca)
        if cert:
            ctx.load_cert_chain(*self.pair(cert))
        return ctx

    def server_context(self, cert="server", want_client_cert=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*self.pair(cert))
        if want_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.ca)
        return ctx


_pki = None


def pki():
    """The tests' Pki, made at first use; Unavailable without openssl."""
    global _pki
    if _pki is None:
        _pki = Pki()
    return _pki


def wait_log(agent, text, timeout=TIMEOUT):
    """The agent's log once it holds text; AssertionError when it does not
    within timeout."""
    deadline = time.time() + timeout
    while True:
        log = agent.read_log()
        if text in log:
            return log
        if time.time() > deadline:
            raise AssertionError("no %r in the agent's log within %.1f s:\n%s" % (text, timeout, log[-3000:]))
        time.sleep(0.02)


def tls_options(cert=None):
    """duetd options: the test CA as --tls-ca, cert as --tls-cert/--tls-key."""
    args = ["--tls-ca", pki().ca]
    if cert:
        pem, key = pki().pair(cert)
        args += ["--tls-cert", pem, "--tls-key", key]
    return args


class MqttOverTls(NeedsCase):
    """Device.MQTT.Client.{i}.TransportProtocol TLS against mosquitto TLS
    listeners (R-MQTT.48; R-MTP.1, R-MTP.4: the broker's certificate must
    chain to --tls-ca and name BrokerAddress). The test Controller stays on
    the broker's plain listener."""

    @classmethod
    def setUpClass(cls):
        cls.needs(pb, mqtt, pki)

    def tls_broker(self, cert, require_certificate=False):
        b = mqtt().Broker(tls=(pki().ca,) + pki().pair(cert), require_certificate=require_certificate)
        self.addCleanup(b.close)
        return b

    def agent(self, defaults, options):
        agent = UspAgent(defaults_extra=defaults, extra=options)
        self.addCleanup(agent.cleanup)
        agent.start()
        admin = agent.admin()
        self.addCleanup(admin.close)
        return agent, admin

    def controller(self, b, version=5):
        t = MqttTransport(b.port, AGENT_TOPIC, CONTROLLER_TOPIC, version)
        self.addCleanup(t.close)
        return Controller(t, agent_id=AGENT_ID)

    def test_get_over_tls(self):
        b = self.tls_broker("server")
        ctl = self.controller(b)
        agent, admin = self.agent(mqtt_lines(b.tls_port, "5.0") + ["Device.MQTT.Client.1.TransportProtocol TLS"],
                                  tls_options())
        ctl.wait_connect_record("mqtt_connect", timeout=TIMEOUT)
        self.assertEqual(ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")
        self.assertEqual(admin.value("Device.MQTT.Client.1.Status"), "Connected")

    def test_client_certificate_for_a_broker_that_asks(self):
        # the agent's own certificate answers a broker requiring one
        b = self.tls_broker("server", require_certificate=True)
        ctl = self.controller(b, 3)
        self.agent(mqtt_lines(b.tls_port, "3.1.1") + ["Device.MQTT.Client.1.TransportProtocol TLS"],
                   tls_options("client"))
        ctl.wait_connect_record("mqtt_connect", timeout=TIMEOUT)  # subscribed: requests reach it
        self.assertEqual(ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")

    def test_untrusted_or_misnamed_broker_is_refused(self):
        # Client.1: a certificate of another CA; Client.2 (LocalAgent.MTP.3):
        # the right CA, another host name
        rogue, misnamed = self.tls_broker("rogue"), self.tls_broker("wrong-name")
        second = ["Device.MQTT.Client.2.Enable true", "Device.MQTT.Client.2.BrokerAddress 127.0.0.1",
                  "Device.MQTT.Client.2.BrokerPort %d" % misnamed.tls_port,
                  "Device.MQTT.Client.2.ProtocolVersion 5.0", "Device.MQTT.Client.2.TransportProtocol TLS",
                  "Device.MQTT.Client.2.ClientID duet-tls-2",
                  "Device.LocalAgent.MTP.3.Protocol MQTT", "Device.LocalAgent.MTP.3.Enable true",
                  "Device.LocalAgent.MTP.3.MQTT.Reference Device.MQTT.Client.2",
                  "Device.LocalAgent.MTP.3.MQTT.ResponseTopicConfigured usp/agent/tls-2"]
        agent, admin = self.agent(mqtt_lines(rogue.tls_port, "5.0") +
                                  ["Device.MQTT.Client.1.TransportProtocol TLS"] + second, tls_options())
        wait_log(agent, "Device.MQTT.Client.1: cannot connect")
        log = wait_log(agent, "Device.MQTT.Client.2: cannot connect")
        self.assertIn("certificate verify failed", log)  # libmosquitto's reason, logged
        self.assertIn("host name verification failed", log)
        for k in (1, 2):
            self.assertNotEqual(admin.value("Device.MQTT.Client.%d.Status" % k), "Connected")


class WebSocketTlsServer(AgentCase):
    """LocalAgent.MTP.2 with EnableEncryption true: wss with the agent's
    --tls-cert; a Controller must present a certificate signed by a CA of
    --tls-ca (R-MTP.1)."""

    @classmethod
    def setUpClass(cls):
        if not cls.needs(pki):
            return
        cls.port = free_port()
        cls.defaults_extra = ws_server_lines(2, cls.port, tls=True)
        cls.agent_args = tls_options("server")
        super().setUpClass()
        if cls.unavailable:
            return
        if not wait_port(cls.port):
            raise AssertionError("no wss listener on port %d:\n%s" % (cls.port, cls.agent.read_log()[-2000:]))

    def url(self, scheme="wss", host="127.0.0.1"):
        return "%s://%s:%d/usp" % (scheme, host, self.port)

    def assert_refused(self, url, ctx):
        try:
            conn = ws_connect(url, ssl=ctx)
        except (OSError, mtp().websockets.exceptions.WebSocketException):
            return  # the TLS or the opening handshake failed
        self.addCleanup(conn.close)
        self.fail("a session over %s opened" % url)

    def test_get_over_wss(self):
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host=host):
                conn = ws_connect(self.url(host=host), ssl=pki().client_context("client"))
                self.addCleanup(conn.close)
                ctl = Controller(conn, agent_id=AGENT_ID)
                self.assertEqual(record_kind(ctl.recv_record()), "websocket_connect")
                self.assertEqual(ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")

    def test_plain_ws_is_refused(self):
        self.assert_refused(self.url("ws"), None)

    def test_controller_without_certificate_is_refused(self):
        # R-MTP.1
        self.assert_refused(self.url(), pki().client_context())

    def test_controller_of_another_ca_is_refused(self):
        self.assert_refused(self.url(), pki().client_context("rogue"))
        wait_log(self.agent, "refusing a wss client")


class WebSocketTlsServerWithoutCertificate(AgentCase):
    """EnableEncryption true and no --tls-cert: no listener, and a log line
    saying why (never plain ws on a port meant to be encrypted)."""

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.defaults_extra = ws_server_lines(2, cls.port, tls=True)
        super().setUpClass()

    def test_not_listening(self):
        wait_log(self.agent, "LocalAgent.MTP.2: EnableEncryption is true but no server certificate")
        self.assertTrue(wait_port(self.port, up=False, timeout=0.5))


class WebSocketTlsClient(NeedsCase):
    """The agent dials wss Controllers (EnableEncryption true) and checks
    their certificates against --tls-ca and their names against Host
    (R-MTP.4): Controller.1 has a good one, Controller.2 one of another CA,
    Controller.3 one for another host. Controller.1's server asks for the
    agent's certificate (--tls-cert)."""
    ROGUE_ID = "proto::duet-tls-rogue"
    MISNAMED_ID = "proto::duet-tls-misnamed"

    @classmethod
    def setUpClass(cls):
        if not cls.needs(pb, mtp, pki):
            return
        cls.servers = [WsServer(ssl=pki().server_context(cert, want_client_cert=cert == "server"))
                       for cert in ("server", "rogue", "wrong-name")]
        lines = []
        for inst, (server, eid) in enumerate(zip(cls.servers, (CONTROLLER_ID, cls.ROGUE_ID, cls.MISNAMED_ID)), 1):
            if inst > 1:
                lines += controller_lines(inst, eid)
            lines += ws_controller_lines(inst, 1, server.port, tls=True)
        cls.agent = UspAgent(defaults_extra=lines, extra=tls_options("client"))
        try:
            cls.agent.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.unavailable:
            return
        if "agent" in cls.__dict__:
            cls.agent.cleanup()
        for server in cls.servers:
            server.close()

    def test_session_with_a_trusted_controller(self):
        conn = self.servers[0].accept()
        self.addCleanup(conn.close)
        ctl = Controller(conn, agent_id=AGENT_ID)
        self.assertEqual(record_kind(ctl.recv_record()), "websocket_connect")
        self.assertEqual(ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")

    def test_untrusted_and_misnamed_controllers_are_refused(self):
        wait_log(self.agent, "cannot reach " + self.ROGUE_ID)
        log = wait_log(self.agent, "cannot reach " + self.MISNAMED_ID)
        self.assertIn("unable to get local issuer certificate", log)
        self.assertIn("IP address mismatch", log)
        for server in self.servers[1:]:
            with self.assertRaises(NoAnswer):
                server.accept(timeout=0.1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
