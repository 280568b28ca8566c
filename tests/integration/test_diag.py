"""Diagnostics from either door, end to end: the real duetd as the CPE of
the test ACS (cwmp_acs.py) and the Agent of the test Controller
(usp_controller.py over --usp-socket), as ab_trial.py sets them up.

Covered (notes/cwmp-usp-mapping.md 6.4 and C8; cwmp-cpe-requirements.md
15): the ACS sets the IPPing inputs and DiagnosticsState=Requested with
SetParameterValues, the test runs after the session, a new session opens
with "8 DIAGNOSTICS COMPLETE" and GetParameterValues shows Complete and the
counts; a read-only state value is refused with 9007; a Controller
operates Device.IP.Diagnostics.IPPing() and hears OperationComplete with
the output arguments, while the ACS gets no session for it and its object
keeps what it had. UploadDiagnostics likewise from both doors: a real
HTTP PUT of TestFileLength bytes to a server in the test. TraceRoute from
both doors to 127.0.0.1 (one hop): its rows in the object's RouteHops
table for the ACS, in the output arguments for the Controller.
NSLookupDiagnostics from both doors against a DNS server in the test.
ServerSelectionDiagnostics from both doors: the host that answers wins.
UDPEchoDiagnostics from both doors against an echo server in the test.

The doors are opened by core/main.c (map_diag_start); a duetd that does
not open them answers Operate IPPing() with "not implemented": the tests
are skipped then, with that reason.
"""
import http.server
import os
import socket
import struct
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ab_trial as ab  # noqa: E402
import usp_controller as uc  # noqa: E402

cw = ab.cw
PING = "Device.IP.Diagnostics.IPPing."
PING_CMD = "Device.IP.Diagnostics.IPPing()"
UP = "Device.IP.Diagnostics.UploadDiagnostics."
UP_CMD = "Device.IP.Diagnostics.UploadDiagnostics()"
TR = "Device.IP.Diagnostics.TraceRoute."
TR_CMD = "Device.IP.Diagnostics.TraceRoute()"
NS = "Device.DNS.Diagnostics.NSLookupDiagnostics."
NS_CMD = "Device.DNS.Diagnostics.NSLookupDiagnostics()"
DNS_ADDR = "127.0.0.153"  # the model gives DNSServer no port: 53 on an address of the test's own
DIAG_EVENT = "8 DIAGNOSTICS COMPLETE"
UINT = "xsd:unsignedInt"
# long enough for the test's one-second wait, its echoes and a session
QUIET_S = 3


class DiagCase(ab.AbCase):

    def setUp(self):
        super().setUp()
        if getattr(self, "ctl", None) and not self.doors_open():
            self.skipTest("this duetd does not run diagnostics (map_diag_start not called in core/main.c)")

    def doors_open(self):
        """Does the agent implement IPPing()? An argument it refuses
        (an empty Host) answers without running anything."""
        r = self.ctl.operate(PING_CMD, args={"Host": "", "ProtocolVersion": "Any", "NumberOfRepetitions": "1",
                                             "Timeout": "100", "DataBlockSize": "8"}).operation_results[0]
        self.assertEqual(r.WhichOneof("operation_resp"), "cmd_failure")
        return "not implemented" not in r.cmd_failure.err_msg

    def ping_values(self):
        return self.acs_values(PING)

    def sessions_with_diag_event(self, since):
        return [s for s in self.acs.sessions_since(since) if s.has(DIAG_EVENT)]


class AcsRequests(DiagCase):

    def test_spv_requested_then_diagnostics_complete(self):
        s = self.session(cw.spv([(PING + "Host", "127.0.0.1"), (PING + "NumberOfRepetitions", "3", UINT),
                                 (PING + "Timeout", "1000", UINT), (PING + "DataBlockSize", "32", UINT),
                                 (PING + "DiagnosticsState", "Requested")], "diag-1"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        # the session that tells of the end reads the results at once
        self.acs.next_session(cw.gpv(PING))
        done = self.acs.wait_session(lambda x: x.has(DIAG_EVENT))
        self.assertEqual(done.inform.events.count((DIAG_EVENT, "")), 1)
        values = self.answered(done, "GetParameterValues").values()
        self.assertEqual(values[PING + "DiagnosticsState"], "Complete")
        self.assertEqual(values[PING + "SuccessCount"], "3")
        self.assertEqual(values[PING + "FailureCount"], "0")
        self.assertEqual(values[PING + "IPAddressUsed"], "127.0.0.1")
        self.assertLessEqual(int(values[PING + "MinimumResponseTimeDetailed"]),
                             int(values[PING + "MaximumResponseTimeDetailed"]))
        self.assertGreater(int(values[PING + "MaximumResponseTimeDetailed"]), 0)
        # results stay until an input changes; then the state is None again
        s = self.session(cw.spv([(PING + "DataBlockSize", "64", UINT)], "diag-2"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        deadline = time.time() + QUIET_S
        while self.admin_get(PING + "DiagnosticsState") != "None" and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.admin_get(PING + "DiagnosticsState"), "None")

    def test_state_values_of_the_agent_are_refused(self):
        s = self.session(cw.spv([(PING + "DiagnosticsState", "Complete")], "diag-bad"))
        ans = s.answer("SetParameterValues")
        self.assertEqual(ans.kind, "Fault")
        self.assertEqual(ans.fault.code, 9003)
        self.assertEqual([(name, code) for name, code, _ in ans.fault.spv], [(PING + "DiagnosticsState", 9007)])


class ControllerOperates(DiagCase):

    def test_operate_ipping_gives_operation_complete_and_no_cwmp_event(self):
        self.subscribe("diag-oc", "OperationComplete", PING_CMD)
        mark = self.acs.mark()
        resp = self.ctl.operate(PING_CMD, command_key="ck-ping",
                                args={"Host": "127.0.0.1", "ProtocolVersion": "IPv4", "NumberOfRepetitions": "2",
                                      "Timeout": "1000", "DataBlockSize": "16"})
        r = resp.operation_results[0]
        self.assertEqual(r.WhichOneof("operation_resp"), "req_obj_path", r)
        m, n = self.wait_notify("diag-oc", "OperationComplete")
        oc = n.oper_complete
        self.assertEqual((oc.command_name, oc.command_key), ("IPPing()", "ck-ping"))
        self.assertEqual(oc.WhichOneof("operation_resp"), "req_output_args", oc)
        out = dict(oc.req_output_args.output_args)
        self.assertEqual(out["Status"], "Complete")
        self.assertEqual(out["SuccessCount"], "2")
        self.assertEqual(out["FailureCount"], "0")
        # the ACS hears nothing of it, and its object is untouched
        time.sleep(QUIET_S)
        self.assertEqual(self.sessions_with_diag_event(mark), [])
        self.assertEqual(self.admin_get(PING + "DiagnosticsState"), "None")
        self.assertEqual(self.admin_get(PING + "SuccessCount"), "0")

    def test_bad_host_completes_with_the_error_status(self):
        self.subscribe("diag-err", "OperationComplete", PING_CMD)
        self.ctl.operate(PING_CMD, args={"Host": "no-such-host.invalid", "ProtocolVersion": "Any",
                                         "NumberOfRepetitions": "1", "Timeout": "200", "DataBlockSize": "8"})
        m, n = self.wait_notify("diag-err", "OperationComplete")
        self.assertEqual(dict(n.oper_complete.req_output_args.output_args)["Status"], "Error_CannotResolveHostName")


class _PutHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_PUT(self):
        left = int(self.headers.get("Content-Length", "0"))
        got = 0
        while left:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                break
            got += len(chunk)
            left -= len(chunk)
        with self.server.lock:
            self.server.received.append((self.path, got))
        self.send_response(201 if self.path == "/up" else 403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


class Uploads(DiagCase):
    """UploadDiagnostics from both doors against a PUT server here."""

    def setUp(self):
        super().setUp()
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PutHandler)
        self.http.lock = threading.Lock()
        self.http.received = []
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.addCleanup(self.http.server_close)
        self.addCleanup(self.http.shutdown)
        self.url = "http://127.0.0.1:%d/up" % self.http.server_address[1]

    def test_acs_requests_an_upload(self):
        s = self.session(cw.spv([(UP + "UploadURL", self.url), (UP + "TestFileLength", "20000", UINT),
                                 (UP + "DiagnosticsState", "Requested")], "up-1"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.acs.next_session(cw.gpv(UP))
        done = self.acs.wait_session(lambda x: x.has(DIAG_EVENT))
        values = self.answered(done, "GetParameterValues").values()
        self.assertEqual(values[UP + "DiagnosticsState"], "Complete")
        self.assertEqual(values[UP + "TestBytesSent"], "20000")
        self.assertEqual(self.http.received, [("/up", 20000)])
        self.assertLessEqual(values[UP + "ROMTime"], values[UP + "EOMTime"])

    def test_controller_operates_an_upload(self):
        self.subscribe("up-oc", "OperationComplete", UP_CMD)
        mark = self.acs.mark()
        self.ctl.operate(UP_CMD, command_key="ck-up", args={"UploadURL": self.url, "TestFileLength": "30000"})
        m, n = self.wait_notify("up-oc", "OperationComplete")
        out = dict(n.oper_complete.req_output_args.output_args)
        self.assertEqual((out["Status"], out["TestBytesSent"]), ("Complete", "30000"), out)
        self.assertEqual(self.http.received, [("/up", 30000)])
        time.sleep(QUIET_S)
        self.assertEqual(self.sessions_with_diag_event(mark), [])
        self.assertEqual(self.admin_get(UP + "DiagnosticsState"), "None")

    def test_refused_upload_is_not_complete(self):
        self.subscribe("up-err", "OperationComplete", UP_CMD)
        self.ctl.operate(UP_CMD, args={"UploadURL": self.url.replace("/up", "/no"), "TestFileLength": "10"})
        m, n = self.wait_notify("up-err", "OperationComplete")
        self.assertEqual(dict(n.oper_complete.req_output_args.output_args)["Status"], "Error_NoTransferComplete")


class TraceRoutes(DiagCase):
    """TraceRoute from both doors; it needs a raw socket (duetd as root or
    with CAP_NET_RAW): without one the test ends Error_Internal, and the
    tests say so."""

    def test_acs_requests_a_trace(self):
        s = self.session(cw.spv([(TR + "Host", "127.0.0.1"), (TR + "NumberOfTries", "2", UINT),
                                 (TR + "DiagnosticsState", "Requested")], "tr-1"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.acs.next_session(cw.gpv(TR))
        done = self.acs.wait_session(lambda x: x.has(DIAG_EVENT))
        values = self.answered(done, "GetParameterValues").values()
        if values[TR + "DiagnosticsState"] == "Error_Internal":
            self.skipTest("duetd has no raw ICMP socket here")
        self.assertEqual(values[TR + "DiagnosticsState"], "Complete")
        self.assertEqual(values[TR + "RouteHopsNumberOfEntries"], "1")
        rows = {k[len(TR + "RouteHops."):]: v for k, v in values.items() if k.startswith(TR + "RouteHops.")}
        (row,) = {k.split(".")[0] for k in rows}
        self.assertEqual(rows[row + ".HostAddress"], "127.0.0.1")
        self.assertEqual(len(rows[row + ".RTTimes"].split(",")), 2)

    def test_controller_operates_a_trace(self):
        self.subscribe("tr-oc", "OperationComplete", TR_CMD)
        mark = self.acs.mark()
        self.ctl.operate(TR_CMD, command_key="ck-tr", args={"Host": "127.0.0.1", "ProtocolVersion": "Any",
                                                              "NumberOfTries": "1", "MaxHopCount": "4"})
        m, n = self.wait_notify("tr-oc", "OperationComplete")
        out = dict(n.oper_complete.req_output_args.output_args)
        if out["Status"] == "Error_Internal":
            self.skipTest("duetd has no raw ICMP socket here")
        self.assertEqual((out["Status"], out["RouteHops.1.HostAddress"]), ("Complete", "127.0.0.1"), out)
        self.assertNotIn("RouteHops.2.HostAddress", out)
        time.sleep(QUIET_S)
        self.assertEqual(self.sessions_with_diag_event(mark), [])
        self.assertEqual(self.admin_get(TR + "RouteHopsNumberOfEntries"), "0")


class _DnsServer:
    """Answers A questions for lab.duet.test with 198.51.100.7 (authoritative),
    AAAA with nothing, anything else with "no such name"."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((DNS_ADDR, 53))
        self.questions = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(512)
            except OSError:
                return
            self.questions += 1
            end = 12
            while end < len(q) and q[end]:
                end += q[end] + 1
            qtype = struct.unpack("!H", q[end + 1:end + 3])[0]
            known = q[12:end] == b"\x03lab\x04duet\x04test"
            answers = b""
            if known and qtype == 1:
                answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("198.51.100.7")
            flags = 0x8500 if known else 0x8503
            head = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], flags, 1, 1 if answers else 0, 0, 0)
            self.sock.sendto(head + q[12:end + 5] + answers, peer)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the serving thread
        except OSError:
            pass
        self.sock.close()


class NsLookups(DiagCase):

    def setUp(self):
        super().setUp()
        try:
            self.dns = _DnsServer()
        except OSError as e:
            self.skipTest("no port 53 on %s here: %s" % (DNS_ADDR, e))
        self.addCleanup(self.dns.close)

    def test_acs_requests_a_lookup(self):
        s = self.session(cw.spv([(NS + "HostName", "lab.duet.test"), (NS + "DNSServer", DNS_ADDR),
                                 (NS + "NumberOfRepetitions", "2", UINT), (NS + "DiagnosticsState", "Requested")],
                                "ns-1"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.acs.next_session(cw.gpv(NS))
        done = self.acs.wait_session(lambda x: x.has(DIAG_EVENT))
        values = self.answered(done, "GetParameterValues").values()
        self.assertEqual((values[NS + "DiagnosticsState"], values[NS + "SuccessCount"]), ("Complete", "2"))
        self.assertEqual(values[NS + "ResultNumberOfEntries"], "2")
        addrs = sorted(v for k, v in values.items() if k.endswith(".IPAddresses"))
        self.assertEqual(addrs, ["198.51.100.7", "198.51.100.7"])
        self.assertEqual(sorted(v for k, v in values.items() if k.endswith(".AnswerType")),
                         ["Authoritative", "Authoritative"])

    def test_controller_operates_a_lookup(self):
        self.subscribe("ns-oc", "OperationComplete", NS_CMD)
        self.ctl.operate(NS_CMD, command_key="ck-ns", args={"HostName": "nowhere.duet.test", "DNSServer": DNS_ADDR,
                                                             "Timeout": "1000", "NumberOfRepetitions": "1"})
        m, n = self.wait_notify("ns-oc", "OperationComplete")
        out = dict(n.oper_complete.req_output_args.output_args)
        self.assertEqual((out["Status"], out["SuccessCount"], out["Result.1.Status"]),
                         ("Complete", "0", "Error_HostNameNotResolved"), out)
        self.assertEqual(out["Result.1.DNSServerIP"], DNS_ADDR)
        self.assertEqual(self.admin_get(NS + "ResultNumberOfEntries"), "0")


SS = "Device.IP.Diagnostics.ServerSelectionDiagnostics."
SS_CMD = "Device.IP.Diagnostics.ServerSelectionDiagnostics()"


class ServerSelections(DiagCase):

    def test_acs_requests_a_selection(self):
        s = self.session(cw.spv([(SS + "HostList", "no-such-host.invalid,127.0.0.1"),
                                 (SS + "NumberOfRepetitions", "2", UINT), (SS + "DiagnosticsState", "Requested")],
                                "ss-1"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.acs.next_session(cw.gpv(SS))
        done = self.acs.wait_session(lambda x: x.has(DIAG_EVENT))
        values = self.answered(done, "GetParameterValues").values()
        self.assertEqual((values[SS + "DiagnosticsState"], values[SS + "FastestHost"]), ("Complete", "127.0.0.1"))
        self.assertGreater(int(values[SS + "AverageResponseTime"]), 0)

    def test_controller_operates_a_selection(self):
        self.subscribe("ss-oc", "OperationComplete", SS_CMD)
        mark = self.acs.mark()
        self.ctl.operate(SS_CMD, command_key="ck-ss", args={"HostList": "127.0.0.1", "Protocol": "ICMP",
                                                              "ProtocolVersion": "Any", "NumberOfRepetitions": "1",
                                                              "Timeout": "1000"})
        m, n = self.wait_notify("ss-oc", "OperationComplete")
        out = dict(n.oper_complete.req_output_args.output_args)
        self.assertEqual((out["Status"], out["FastestHost"]), ("Complete", "127.0.0.1"), out)
        time.sleep(QUIET_S)
        self.assertEqual(self.sessions_with_diag_event(mark), [])
        self.assertEqual(self.admin_get(SS + "FastestHost"), "")


UE = "Device.IP.Diagnostics.UDPEchoDiagnostics."
UE_CMD = "Device.IP.Diagnostics.UDPEchoDiagnostics()"


class UdpEchoes(DiagCase):

    def setUp(self):
        super().setUp()
        self.echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.echo.bind(("127.0.0.1", 0))
        self.port = self.echo.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()
        self.addCleanup(self._stop)

    def _serve(self):
        while True:
            try:
                data, peer = self.echo.recvfrom(4096)
            except OSError:
                return
            self.echo.sendto(data, peer)

    def _stop(self):
        try:
            self.echo.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.echo.close()

    def test_acs_requests_echoes(self):
        s = self.session(cw.spv([(UE + "Host", "127.0.0.1"), (UE + "Port", str(self.port), UINT),
                                 (UE + "NumberOfRepetitions", "2", UINT), (UE + "InterTransmissionTime", "1", UINT),
                                 (UE + "EnableIndividualPacketResults", "true", "xsd:boolean"),
                                 (UE + "DiagnosticsState", "Requested")], "ue-1"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.acs.next_session(cw.gpv(UE))
        done = self.acs.wait_session(lambda x: x.has(DIAG_EVENT))
        values = self.answered(done, "GetParameterValues").values()
        self.assertEqual((values[UE + "DiagnosticsState"], values[UE + "SuccessCount"]), ("Complete", "2"))
        self.assertEqual(values[UE + "IndividualPacketResultNumberOfEntries"], "2")
        self.assertEqual(sorted(v for k, v in values.items() if k.endswith(".PacketSuccess")), ["true", "true"])

    def test_controller_operates_echoes(self):
        self.subscribe("ue-oc", "OperationComplete", UE_CMD)
        self.ctl.operate(UE_CMD, command_key="ck-ue", args={"Host": "127.0.0.1", "Port": str(self.port),
                                                              "NumberOfRepetitions": "3", "Timeout": "500",
                                                              "InterTransmissionTime": "1"})
        m, n = self.wait_notify("ue-oc", "OperationComplete")
        out = dict(n.oper_complete.req_output_args.output_args)
        self.assertEqual((out["Status"], out["SuccessCount"], out["FailureCount"]), ("Complete", "3", "0"), out)
        self.assertNotIn("IndividualPacketResult.1.PacketSuccess", out)


if __name__ == "__main__":
    unittest.main()
