"""CWMP (TR-069) sessions end to end: the real duetd as the CPE, the test ACS
of cwmp_acs.py as the ACS, assertions on the wire.

Every test starts its own duetd on a fresh store with factory defaults that
point at the test's ACS (ephemeral port, retry wait 1 s, no periodic
Inform) and a Connection Request listener on an ephemeral port, so the
bootstrap session opens at once; later sessions are opened by Connection
Requests. Every CPE message is checked against the official cwmp-1-x.xsd
when $SHARED/bbf is there (a note is printed otherwise).

Covered: the bootstrap and boot Informs (DeviceId, events, forced
parameters, SupportedCWMPVersions), a new ACS URL; every CPE RPC with its
main faults, cwmp:ID, the 1-0 namespace, malformed and unknown requests,
mustUnderstand headers; Digest (MD5, SHA-256), wrong password, Basic
refused over http, cookies, retry after HTTP 500 / a dropped connection /
an ACS fault; Connection Requests (good, bad credentials, replayed nonce,
SHA-256, rate limit);
active and passive notifications, none for the ACS's own change;
ScheduleInform, also across a restart; Reboot and FactoryReset round
trips; Download of a vendor configuration file (http and https with the
test's own CA), of a firmware image, of a missing file (9016); Upload;
ScheduleDownload; refused transfer arguments; queued transfers and
CancelTransfer; TransferComplete retried after an ACS fault 8005 and kept
across a restart; HoldRequests. TestAcs checks the test ACS itself
against canned messages, without duetd.
"""
import datetime
import os
import socket
import subprocess
import sys
import unittest
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from duet_harness import CR_PASS, CR_USER, DEFAULTS, DUETD, Agent, load_test_acs  # noqa: E402

cw, MISSING = load_test_acs()
FORCED = ("Device.RootDataModelVersion", "Device.DeviceInfo.HardwareVersion", "Device.DeviceInfo.SoftwareVersion",
          "Device.DeviceInfo.ProvisioningCode", "Device.ManagementServer.ParameterKey",
          "Device.ManagementServer.ConnectionRequestURL", "Device.ManagementServer.AliasBasedAddressing")
CPE_METHODS = {"GetRPCMethods", "GetParameterValues", "GetParameterNames", "SetParameterValues",
               "GetParameterAttributes", "SetParameterAttributes", "AddObject", "DeleteObject", "Reboot",
               "FactoryReset", "ScheduleInform", "Download", "Upload", "ScheduleDownload", "CancelTransfer",
               "GetQueuedTransfers", "GetAllQueuedTransfers", "ChangeDUState"}
UNKNOWN_TIME = "0001-01-01T00:00:00Z"
CONFIG = "3 Vendor Configuration File"
FIRMWARE = "1 Firmware Upgrade Image"


_missing = []


def cwmp_missing():
    """Why the CWMP tests cannot run here, or None."""
    if not _missing:
        _missing.append(_why_missing())
    return _missing[0]


def _why_missing():
    if MISSING:
        return MISSING
    if not os.access(DUETD, os.X_OK):
        return "no %s (make)" % DUETD
    p = subprocess.run([DUETD, "--help"], capture_output=True, text=True, timeout=10)
    if "cwmp-cr-port" not in p.stdout + p.stderr:
        return "this duetd has no CWMP front end (no --cwmp-cr-port)"
    return None


def quoted(value):
    if value == "" or " " in value or '"' in value:
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    return value


def write_defaults(path, acs_url, overrides=None):
    """datamodel/factory-defaults.txt aimed at the test ACS, with quick
    retries and no periodic Inform; overrides: more path -> value."""
    settings = {"Device.ManagementServer.URL": acs_url,
                "Device.ManagementServer.CWMPRetryMinimumWaitInterval": "1",
                "Device.ManagementServer.CWMPRetryIntervalMultiplier": "1000",
                "Device.ManagementServer.PeriodicInformEnable": "false"}
    settings.update(overrides or {})
    out = []
    with open(DEFAULTS) as f:
        for line in f.read().splitlines():
            key = line.split(" ", 1)[0]
            if key in settings:
                line = "%s %s" % (key, quoted(settings.pop(key)))
            out.append(line)
    out += ["%s %s" % (k, quoted(v)) for k, v in settings.items()]
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_cr(s):
    """s: a Session or an Inform."""
    return s.has("6 CONNECTION REQUEST")


def transfer_complete(s):
    tcs = s.requests_of("TransferComplete")
    return tcs[0] if tcs else None


class CwmpCase(unittest.TestCase):
    """One test ACS and one duetd per test."""

    acs_options = {}
    note_printed = False

    def setUp(self):
        why = cwmp_missing()
        if why:
            self.skipTest(why)
        self.acs = cw.Acs(**self.acs_options)
        self.addCleanup(self._finish)
        if self.acs.schema_note and not CwmpCase.note_printed:
            CwmpCase.note_printed = True
            print("\nnote: " + self.acs.schema_note, file=sys.stderr)
        self.agent = None
        self.bootstrap = None

    def _finish(self):
        try:
            if self.agent:
                self.agent.cleanup()
        finally:
            self.acs.close()
        self.assertEqual(self.acs.errors, [], "the ACS saw protocol errors")

    # --- helpers --------------------------------------------------------------
    def start(self, *script, hold_inform=False, extra=(), overrides=None, wait=True):
        """Start duetd; script runs in its first (bootstrap) session, which
        is returned once it has ended (wait)."""
        self.agent = Agent(extra=["--cwmp-cr-address", "127.0.0.1", "--cwmp-cr-port", "-1"] + list(extra))
        self.agent.defaults = os.path.join(self.agent.tmp, "defaults.txt")
        self.acs.explain = self.log_tail
        write_defaults(self.agent.defaults, self.acs.url, overrides)
        if script or hold_inform:
            self.acs.next_session(*script, hold_inform=hold_inform)
        self.agent.start()
        if wait:
            self.bootstrap = self.acs.wait_session(lambda s: s.has("0 BOOTSTRAP"))
            return self.bootstrap
        return None

    def log_tail(self, lines=25):
        try:
            return "duetd log:\n" + "\n".join(self.agent.read_log().splitlines()[-lines:])
        except OSError:
            return ""

    def cr_url(self):
        return self.admin_get("Device.ManagementServer.ConnectionRequestURL")

    def admin_get(self, path):
        a = self.agent.admin()
        try:
            return a.value(path)
        finally:
            a.close()

    def admin_set(self, *pairs):
        a = self.agent.admin()
        try:
            a.request("set", *pairs)
        finally:
            a.close()

    def connection_request(self, **kw):
        return cw.connection_request(self.cr_url(), CR_USER, CR_PASS, **kw)

    def session(self, *script, hold_inform=False):
        """Run script in a session opened by a Connection Request."""
        mark = self.acs.mark()
        self.acs.next_session(*script, hold_inform=hold_inform)
        r = self.connection_request()
        self.assertIn(r.status, (200, 204), "Connection Request refused")
        return self.acs.wait_session(is_cr, since=mark)

    def fault(self, msg, code):
        self.assertEqual(msg.kind, "Fault", "expected fault %d, got %s" % (code, msg.kind))
        self.assertEqual(msg.fault.faultstring, "CWMP fault")
        self.assertEqual(msg.fault.code, code, msg.fault)

    def answered(self, s, method):
        """The answer to method in s, which must not be a fault, with its
        cwmp:ID checked."""
        for req, ans in s.exchanges:
            if req.method == method:
                self.assertNotEqual(ans.kind, "Fault", "%s answered by %s" % (method, ans.fault))
                self.assertEqual(ans.id, req.id, "cwmp:ID not echoed")
                return ans
        self.fail("%s was not answered in %s" % (method, s.log))


# ---------------------------------------------------------------------------
# The test ACS itself, without duetd
# ---------------------------------------------------------------------------

CANNED_INFORM = b"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:e="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:c="urn:dslforum-org:cwmp-1-2">
<s:Header><c:ID s:mustUnderstand="1">cpe-1</c:ID></s:Header>
<s:Body><c:Inform>
<DeviceId><Manufacturer>Duet Networks</Manufacturer><OUI>02D0E7</OUI><ProductClass>DuetGW</ProductClass>
<SerialNumber>DG0000000001</SerialNumber></DeviceId>
<Event e:arrayType="c:EventStruct[1]"><EventStruct><EventCode>1 BOOT</EventCode><CommandKey/></EventStruct></Event>
<MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2026-01-01T00:00:00Z</CurrentTime><RetryCount>2</RetryCount>
<ParameterList e:arrayType="c:ParameterValueStruct[1]"><ParameterValueStruct>
<Name>Device.DeviceInfo.SoftwareVersion</Name><Value xsi:type="xsd:string">0.1.0</Value></ParameterValueStruct>
</ParameterList></c:Inform></s:Body></s:Envelope>"""


class TestAcs(unittest.TestCase):
    """The ACS's own logic against canned CPE messages: what the other
    tests conclude rests on it."""

    def setUp(self):
        if MISSING:
            self.skipTest(MISSING)

    def test_every_request_validates(self):
        try:
            check = cw.schema_check()
        except cw.Unavailable as e:
            self.skipTest(str(e))
        reqs = [cw.get_rpc_methods(hold=True), cw.gpv("Device."), cw.gpn("Device.", True),
                cw.spv([("A.B", "1", "xsd:unsignedInt")], "k"), cw.spa([("A.B", 2, None), ("A.C", None, ["Subscriber"])]),
                cw.gpa("A.B"), cw.add_object("A.T.", "k"), cw.delete_object("A.T.1.", "k"), cw.reboot("r"),
                cw.factory_reset(), cw.schedule_inform(5, "s"), cw.download("http://h/f", FIRMWARE, "d"),
                cw.upload("http://h/u", "1 Vendor Configuration File", "u"), cw.get_queued_transfers(),
                cw.schedule_download("http://h/f", CONFIG, [(0, 60, "1 At Any Time", "", 0)], "sd"),
                cw.cancel_transfer("d"), cw.get_all_queued_transfers()]
        for r in reqs:
            self.assertIsNone(check.check_bytes(r.envelope()), r.method)
        self.assertIsNotNone(check.check_bytes(CANNED_INFORM.replace(b"<MaxEnvelopes>1</MaxEnvelopes>", b"")))

    def test_a_canned_session_with_digest(self):
        acs = cw.Acs(auth="digest", algorithms=("SHA-256",), validate=False)
        self.addCleanup(acs.close)
        acs.next_session(cw.gpv("Device.DeviceInfo."))

        def post(body, auth=None):
            req = urllib.request.Request(acs.url, data=body, method="POST",
                                         headers=dict({"Content-Type": "text/xml"},
                                                      **({"Authorization": auth} if auth else {})))
            try:
                with urllib.request.urlopen(req) as r:
                    return r.status, r.read(), r.headers
            except urllib.error.HTTPError as e:
                return e.code, e.read(), e.headers

        status, _, headers = post(CANNED_INFORM)
        self.assertEqual(status, 401)
        challenge = cw.parse_auth(headers["WWW-Authenticate"])[1]
        wrong = cw.digest_authorization(challenge, "duet", "nope", "POST", "/acs")
        self.assertEqual(post(CANNED_INFORM, wrong)[0], 401)
        status, body, _ = post(CANNED_INFORM, cw.digest_authorization(challenge, "duet", "duet", "POST", "/acs"))
        self.assertEqual((status, cw.Message(body).kind, cw.Message(body).id), (200, "InformResponse", "cpe-1"))
        status, body, _ = post(b"")
        gpv = cw.Message(body)
        self.assertEqual((status, gpv.kind, gpv.get("ParameterNames")), (200, "GetParameterValues", ["Device.DeviceInfo."]))
        fault = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:dslforum-org:cwmp-1-2">'
                 b'<s:Body><s:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring><detail>'
                 b'<c:Fault><FaultCode>9005</FaultCode><FaultString>no</FaultString></c:Fault></detail></s:Fault>'
                 b'</s:Body></s:Envelope>')
        self.assertEqual(post(fault)[0], 204)
        s = acs.wait_session(timeout=1)
        self.assertEqual((s.events, s.inform.retry_count, s.params), ([("1 BOOT", "")], 2,
                                                                      {"Device.DeviceInfo.SoftwareVersion": "0.1.0"}))
        self.assertEqual(s.answer("GetParameterValues").fault.code, 9005)
        self.assertEqual([a.outcome for a in acs.attempts], ["401", "401", "ok"])
        self.assertEqual(acs.errors, [])


# ---------------------------------------------------------------------------
# Informs
# ---------------------------------------------------------------------------

class Informs(CwmpCase):

    def test_bootstrap_inform(self):
        s = self.start()
        inf = s.inform
        self.assertEqual(inf.device_id, {"Manufacturer": "Duet Networks", "OUI": "02D0E7", "ProductClass": "DuetGW",
                                         "SerialNumber": "DG0000000001"})
        self.assertIn(("0 BOOTSTRAP", ""), inf.events)
        self.assertIn(("1 BOOT", ""), inf.events)
        # the Connection Request URL just published may count as a change
        self.assertEqual(set(inf.event_codes) - {"0 BOOTSTRAP", "1 BOOT", "4 VALUE CHANGE"}, set())
        self.assertEqual(inf.get("MaxEnvelopes"), "1")
        self.assertEqual(inf.retry_count, 0)
        when = datetime.datetime.fromisoformat(inf.get("CurrentTime").replace("Z", "+00:00"))
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - when).total_seconds()), 600, "CurrentTime is not the current time")
        self.assertEqual(inf.ns, cw.CWMP["1-2"])
        versions = inf.headers.get("SupportedCWMPVersions", "")
        self.assertRegex(versions, r"^[0-9]\.[0-9](,[0-9]\.[0-9])*$")
        self.assertIn("1.2", versions.split(","))
        self.assertEqual(inf.header_attrs["SupportedCWMPVersions"].get("{%s}mustUnderstand" % cw.SOAP_ENV), "0")
        names = inf.param_list()
        self.assertEqual(len(names), len(set(names)), "a parameter listed twice")
        for p in FORCED:
            self.assertIn(p, inf.params)
        self.assertEqual(inf.params["Device.DeviceInfo.SoftwareVersion"], "0.1.0")
        self.assertEqual(inf.params["Device.DeviceInfo.HardwareVersion"], "1.0")
        self.assertEqual(inf.params["Device.DeviceInfo.ProvisioningCode"], "DUET.DEMO")
        self.assertEqual(inf.params["Device.ManagementServer.ParameterKey"], "")
        url = inf.params["Device.ManagementServer.ConnectionRequestURL"]
        self.assertRegex(url, r"^http://127\.0\.0\.1:[0-9]+/")
        self.assertEqual(url, self.cr_url())
        self.assertIn("text/xml", s.posts[0]["content_type"])
        self.assertEqual(s.posts[0]["path"], "/acs")

    def test_restart_informs_boot_only(self):
        port = free_port()  # the same Connection Request URL after the restart: no VALUE CHANGE
        self.start(extra=["--cwmp-cr-port", str(port)])
        self.assertEqual(self.agent.stop(), 0)
        mark = self.acs.mark()
        self.agent.start()
        s = self.acs.wait_session(since=mark)
        self.assertEqual(s.events, [("1 BOOT", "")])
        self.assertEqual(s.inform.retry_count, 0)

    def test_new_acs_url_bootstraps_the_new_acs(self):
        other = cw.Acs(**self.acs_options)
        self.addCleanup(other.close)
        self.start(cw.spv([("Device.ManagementServer.URL", other.url)], "move"))
        self.assertEqual(self.bootstrap.answer("SetParameterValues").get("Status"), "0")
        r = self.connection_request()
        self.assertIn(r.status, (200, 204))
        s = other.wait_session()
        self.assertIn("0 BOOTSTRAP", s.event_codes)
        self.assertEqual(s.params["Device.ManagementServer.ParameterKey"], "move")
        self.assertEqual(other.errors, [])


# ---------------------------------------------------------------------------
# The RPCs
# ---------------------------------------------------------------------------

class Rpcs(CwmpCase):

    def test_get_rpc_methods(self):
        s = self.start(cw.get_rpc_methods())
        methods = self.answered(s, "GetRPCMethods").methods()
        self.assertEqual(len(methods), len(set(methods)), methods)
        self.assertEqual(set(methods), CPE_METHODS)

    def test_get_parameter_values(self):
        s = self.start(cw.gpv("Device.DeviceInfo.SoftwareVersion", "Device.ManagementServer."))
        ans = self.answered(s, "GetParameterValues")
        values, types = ans.values(), ans.types()
        self.assertEqual(values["Device.DeviceInfo.SoftwareVersion"], "0.1.0")
        self.assertEqual(values["Device.ManagementServer.URL"], self.acs.url)
        self.assertEqual(values["Device.ManagementServer.Password"], "", "hidden parameter shown")
        self.assertEqual(values["Device.ManagementServer.ConnectionRequestPassword"], "")
        self.assertEqual(values["Device.ManagementServer.PeriodicInformInterval"], "3600")
        self.assertEqual(types["Device.ManagementServer.PeriodicInformInterval"], "xsd:unsignedInt")
        self.assertEqual(values["Device.ManagementServer.EnableCWMP"], "true")
        self.assertEqual(types["Device.ManagementServer.EnableCWMP"], "xsd:boolean")
        self.assertIn("Device.ManagementServer.AutonomousTransferCompletePolicy.Enable", values,
                      "a partial path reaches every level below it")
        for name in values:
            self.assertTrue(name == "Device.DeviceInfo.SoftwareVersion" or
                            name.startswith("Device.ManagementServer."), name)
            self.assertFalse(name.endswith("."), "object %s listed as a parameter" % name)

    def test_whole_tree(self):
        s = self.start(cw.gpv("Device."), cw.gpn("Device.", False))
        broken, self.acs.errors[:] = list(self.acs.errors), []  # asserted here, not again at clean-up
        values, types = self.answered(s, "GetParameterValues").values(), self.answered(s, "GetParameterValues").types()
        names = self.answered(s, "GetParameterNames").names()
        self.assertGreater(len(values), 500)
        self.assertEqual(set(values), {n for n in names if not n.endswith(".")},
                         "GetParameterNames and GetParameterValues disagree on the parameters")
        # a list travels as a string (TR-069 A.2.1), whatever its items are
        self.assertEqual(values["Device.WiFi.Radio.1.TransmitPowerSupported"], "25,50,75,100")
        self.assertEqual(types["Device.WiFi.Radio.1.TransmitPowerSupported"], "xsd:string")
        self.assertEqual([e[:200] for e in broken], [], "answers that break the schema")

    def test_get_parameter_values_faults(self):
        s = self.start(cw.gpv("Device.DeviceInfo.NoSuchThing"),
                       cw.gpv("Device.DeviceInfo.Manufacturer", "Device.NoSuchObject."),
                       cw.gpv("Device.DeviceInfo.Manufacturer"))
        a = s.answers()
        self.fault(a[0], 9005)
        self.fault(a[1], 9005)
        self.assertEqual(a[0].id, s.exchanges[0][0].id, "cwmp:ID not echoed on a fault")
        self.assertEqual(a[2].values(), {"Device.DeviceInfo.Manufacturer": "Duet Networks"},
                         "the session goes on after a fault")

    def test_get_parameter_names(self):
        s = self.start(cw.gpn("Device.DeviceInfo.", True), cw.gpn("Device.DeviceInfo.", False),
                       cw.gpn("", True), cw.gpn("Device.DeviceInfo.Manufacturer", True),
                       cw.gpn("Device.DeviceInfo.Manufacturer", False), cw.gpn("Device.NoSuchObject.", True))
        a = s.answers()
        nl = a[0].names()
        self.assertIs(nl["Device.DeviceInfo.Manufacturer"], False)
        self.assertIs(nl["Device.DeviceInfo.ProvisioningCode"], True)
        self.assertIn("Device.DeviceInfo.FirmwareImage.", nl)
        for name in nl:
            rest = name[len("Device.DeviceInfo."):]
            self.assertTrue(name.startswith("Device.DeviceInfo.") and rest, name)
            self.assertNotIn(".", rest.rstrip("."), "%s is not a direct child" % name)
        deep = a[1].names()
        self.assertIn("Device.DeviceInfo.FirmwareImage.1.Name", deep)
        self.assertIn("Device.DeviceInfo.FirmwareImage.1.", deep)
        self.assertIn("Device.DeviceInfo.", deep, "the path itself is listed with NextLevel false")
        self.assertLess(len(nl), len(deep))
        self.assertEqual(list(a[2].names()), ["Device."])
        self.fault(a[3], 9003)
        self.assertEqual(list(a[4].names()), ["Device.DeviceInfo.Manufacturer"])
        self.fault(a[5], 9005)

    def test_set_parameter_values(self):
        s = self.start(cw.spv([("Device.DeviceInfo.ProvisioningCode", "LAB.1"),
                               ("Device.ManagementServer.PeriodicInformInterval", "600", "xsd:unsignedInt")],
                              "spv-1"),
                       cw.gpv("Device.DeviceInfo.ProvisioningCode", "Device.ManagementServer.PeriodicInformInterval"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.assertEqual(self.answered(s, "GetParameterValues").values(),
                         {"Device.DeviceInfo.ProvisioningCode": "LAB.1",
                          "Device.ManagementServer.PeriodicInformInterval": "600"})
        self.assertEqual(self.admin_get("Device.DeviceInfo.ProvisioningCode"), "LAB.1")
        nxt = self.session()
        self.assertEqual(nxt.params["Device.ManagementServer.ParameterKey"], "spv-1")
        self.assertEqual(nxt.params["Device.DeviceInfo.ProvisioningCode"], "LAB.1")

    def test_set_parameter_values_fault_applies_nothing(self):
        s = self.start(cw.spv([("Device.DeviceInfo.ProvisioningCode", "SHOULD.NOT.STICK"),
                               ("Device.DeviceInfo.NoSuchThing", "x"),
                               ("Device.DeviceInfo.Manufacturer", "Someone Else"),
                               ("Device.ManagementServer.PeriodicInformInterval", "soon", "xsd:unsignedInt")],
                              "spv-bad"),
                       cw.spv([("Device.DeviceInfo.ProvisioningCode", "A"), ("Device.DeviceInfo.ProvisioningCode", "B")],
                              "spv-twice"),
                       cw.gpv("Device.DeviceInfo.ProvisioningCode"))
        a = s.answers()
        self.fault(a[0], 9003)
        per = {name: code for name, code, _ in a[0].fault.spv}
        self.assertEqual(per.get("Device.DeviceInfo.NoSuchThing"), 9005, a[0].fault)
        self.assertEqual(per.get("Device.DeviceInfo.Manufacturer"), 9008, a[0].fault)
        self.assertIn(per.get("Device.ManagementServer.PeriodicInformInterval"), (9006, 9007), a[0].fault)
        self.assertNotIn("Device.DeviceInfo.ProvisioningCode", per, "a good parameter reported as faulty")
        self.fault(a[1], 9003)
        self.assertEqual(a[2].values(), {"Device.DeviceInfo.ProvisioningCode": "DUET.DEMO"})
        nxt = self.session()
        self.assertEqual(nxt.params["Device.ManagementServer.ParameterKey"], "", "a failed SPV moved ParameterKey")

    def test_add_and_delete_object(self):
        table = "Device.DNS.Client.Server."

        def instance(s, i):
            return table + s.exchanges[i][1].get("InstanceNumber", "0") + "."

        s = self.start(cw.add_object(table, "add-1"),
                       lambda s: cw.gpv(instance(s, 0)),
                       lambda s: cw.delete_object(instance(s, 0), "del-1"),
                       lambda s: cw.gpv(instance(s, 0)),
                       cw.add_object(table, "add-2"),
                       cw.add_object("Device.DeviceInfo.", "bad-add"),
                       cw.delete_object(table + "999.", "bad-del"),
                       cw.delete_object("Device.DeviceInfo.", "bad-del2"))
        a = s.answers()
        self.assertEqual(a[0].kind, "AddObjectResponse", a[0].fault)
        first = int(a[0].get("InstanceNumber"))
        self.assertGreaterEqual(first, 1)
        self.assertEqual(a[0].get("Status"), "0")
        self.assertEqual(a[1].kind, "GetParameterValuesResponse", a[1].fault)
        self.assertTrue(a[1].values())
        self.assertTrue(all(n.startswith("%s%d." % (table, first)) for n in a[1].values()))
        self.assertEqual(a[2].kind, "DeleteObjectResponse", a[2].fault)
        self.assertEqual(a[2].get("Status"), "0")
        self.fault(a[3], 9005)
        self.assertEqual(a[4].kind, "AddObjectResponse", a[4].fault)
        self.assertNotEqual(int(a[4].get("InstanceNumber")), first, "instance number reused")
        self.fault(a[5], 9005)
        self.fault(a[6], 9005)
        self.fault(a[7], 9005)
        nxt = self.session()
        self.assertEqual(nxt.params["Device.ManagementServer.ParameterKey"], "add-2")

    def test_parameter_attributes(self):
        s = self.start(cw.spa([("Device.DeviceInfo.FriendlyName", 1, ["Subscriber"]),
                               ("Device.DeviceInfo.HostName", 2, None)]),
                       cw.gpa("Device.DeviceInfo.FriendlyName", "Device.DeviceInfo.HostName"),
                       cw.spa([("Device.DeviceInfo.FriendlyName", None, [])]),
                       cw.gpa("Device.DeviceInfo."),
                       cw.gpa("Device.DeviceInfo.NoSuchThing"),
                       cw.spa([("Device.DeviceInfo.NoSuchThing", 1, None)]))
        a = s.answers()
        self.assertEqual(a[0].kind, "SetParameterAttributesResponse", a[0].fault)
        self.assertEqual(a[1].attributes(), {"Device.DeviceInfo.FriendlyName": (1, ["Subscriber"]),
                                             "Device.DeviceInfo.HostName": (2, [])})
        self.assertEqual(a[2].kind, "SetParameterAttributesResponse", a[2].fault)
        attrs = a[3].attributes()
        self.assertEqual(attrs["Device.DeviceInfo.FriendlyName"], (1, []), "NotificationChange false changed it")
        self.assertEqual(attrs["Device.DeviceInfo.HostName"], (2, []))
        self.assertEqual(attrs["Device.DeviceInfo.Manufacturer"][1], [])
        self.assertIn("Device.DeviceInfo.FirmwareImage.1.Name", attrs)
        self.fault(a[4], 9005)
        self.fault(a[5], 9005)

    def test_unknown_and_unsupported_methods_are_9000(self):
        unknown = cw.Request("X_02D0E7_Frobnicate", [("Arg", "1")])
        # real CWMP methods this CPE does not list in GetRPCMethods
        vouchers = cw.Request("SetVouchers", [("VoucherList", cw.Array("soap-enc:base64", [("base64", "AAAA")]))])
        options = cw.Request("GetOptions", [("OptionName", "")])
        s = self.start(unknown, vouchers, options, cw.get_rpc_methods())
        self.assertEqual([(r.method, a.kind, a.fault and a.fault.code) for r, a in s.exchanges[:3]],
                         [(r.method, "Fault", 9000) for r, _ in s.exchanges[:3]])
        self.assertEqual(s.answers()[3].kind, "GetRPCMethodsResponse")

    def test_faults_echo_the_request_id(self):
        s = self.start(cw.Request("X_02D0E7_Frobnicate", [("Arg", "1")]), cw.gpv("Device.NoSuchObject."),
                       cw.spv([("Device.DeviceInfo.Manufacturer", "x")]))
        self.assertEqual([(r.method, a.kind, a.id) for r, a in s.exchanges],
                         [(r.method, "Fault", r.id) for r, _ in s.exchanges])

    def test_must_understand_headers(self):
        unknown = cw.gpv("Device.DeviceInfo.ProductClass", headers=[("X_02D0E7_Frob", "1", True)])
        optional = cw.gpv("Device.DeviceInfo.ProductClass", headers=[("X_02D0E7_Hint", "1", False)])
        s = self.start(unknown, optional)
        a = s.answers()
        self.assertEqual(a[0].kind, "Fault")
        self.assertEqual(a[0].fault.faultcode.split(":")[-1], "MustUnderstand", a[0].raw)
        self.assertEqual(a[1].values(), {"Device.DeviceInfo.ProductClass": "DuetGW"},
                         "a header with mustUnderstand 0 is ignored")

    def test_malformed_requests_are_9003(self):
        missing_arg = cw.Request("GetParameterValues", [])
        env = cw.gpv("Device.DeviceInfo.Manufacturer").envelope().decode()
        broken = cw.Request("GetParameterValues", raw=env[:env.index("</ParameterNames>")].encode(), id=None)
        s = self.start(missing_arg, broken, cw.get_rpc_methods())
        a = s.answers()
        self.fault(a[0], 9003)
        self.fault(a[1], 9003)
        self.assertEqual(a[2].kind, "GetRPCMethodsResponse", "the session goes on after a malformed request")


class OlderNamespace(CwmpCase):
    """An ACS speaking cwmp-1-0: the CPE follows it."""

    acs_options = {"ns": "1-0"}

    def test_cpe_answers_in_the_acs_namespace(self):
        s = self.start(cw.gpv("Device.DeviceInfo.ProductClass"), cw.gpv("Device.Nope."))
        ans = self.answered(s, "GetParameterValues")
        self.assertEqual(ans.ns, cw.CWMP["1-0"])
        self.assertEqual(ans.values(), {"Device.DeviceInfo.ProductClass": "DuetGW"})
        self.fault(s.answers()[1], 9005)
        self.assertEqual(s.answers()[1].ns, cw.CWMP["1-0"])


# ---------------------------------------------------------------------------
# HTTP: authentication, cookies, retries
# ---------------------------------------------------------------------------

class DigestMd5(CwmpCase):
    acs_options = {"auth": "digest", "algorithms": ("MD5",)}

    def test_digest_md5(self):
        s = self.start(cw.gpv("Device.DeviceInfo.ProductClass"))
        scheme, fields = cw.parse_auth(s.posts[0]["authorization"])
        self.assertEqual(scheme, "digest")
        self.assertEqual(fields["username"], "duet")
        self.assertEqual(fields.get("algorithm", "MD5").upper(), "MD5")
        self.assertEqual(fields.get("qop"), "auth")
        self.assertEqual(fields["uri"], "/acs")
        self.assertEqual(self.answered(s, "GetParameterValues").values(), {"Device.DeviceInfo.ProductClass": "DuetGW"})


class DigestSha256(CwmpCase):
    acs_options = {"auth": "digest", "algorithms": ("SHA-256",)}

    def test_digest_sha256(self):
        s = self.start()
        scheme, fields = cw.parse_auth(s.posts[0]["authorization"])
        self.assertEqual(scheme, "digest")
        self.assertEqual(fields["algorithm"].upper(), "SHA-256")
        self.assertEqual(fields["username"], "duet")


class WrongPassword(CwmpCase):
    acs_options = {"auth": "digest", "password": "not-the-cpe-password"}

    def test_session_fails_and_is_retried(self):
        self.start(wait=False)
        first = self.acs.wait_attempt(lambda a: a.outcome == "401" and a.authorization)
        self.assertEqual(first.inform.retry_count, 0)
        retried = self.acs.wait_attempt(lambda a: a.inform.retry_count >= 1)
        self.assertIn("0 BOOTSTRAP", retried.inform.event_codes)
        self.assertEqual(self.acs.sessions, [], "a session got through with a wrong password")
        self.acs.password = "duet"
        s = self.acs.wait_session()
        self.assertGreaterEqual(s.inform.retry_count, 1)
        self.assertIn("0 BOOTSTRAP", s.event_codes)
        self.assertIn("1 BOOT", s.event_codes)


class BasicOverHttp(CwmpCase):
    acs_options = {"auth": "basic"}

    def test_no_basic_credentials_in_clear(self):
        self.start(wait=False)
        # a failed session and its retry: at least three POSTs
        self.acs.wait_for(lambda acs: len(acs.posts) >= 3, what="three POSTs")
        sent = [p["authorization"] for p in self.acs.posts if p["authorization"]]
        self.assertEqual(sent, [], "Basic credentials sent over plain http")
        self.assertEqual(self.acs.sessions, [])


class Cookies(CwmpCase):
    acs_options = {"cookies": ["acs-sid=s3ss10n; Path=/", "acs-lb=node7"]}

    def test_cookies_come_back_within_the_session(self):
        s = self.start(cw.gpv("Device.DeviceInfo.ProductClass"), cw.gpn("Device.DeviceInfo.", True))
        later = s.posts[1:]
        self.assertGreaterEqual(len(later), 3)
        for post in later:
            cookies = dict(c.strip().split("=", 1) for c in (post["cookie"] or "").split(";") if "=" in c)
            self.assertEqual(cookies.get("acs-sid"), "s3ss10n", post)
            self.assertEqual(cookies.get("acs-lb"), "node7", post)


class Retries(CwmpCase):

    def check_retry(self, how, failures=1):
        self.acs.fail_next(failures, how)
        s = self.start()
        self.assertEqual([(a.outcome, a.inform.retry_count) for a in self.acs.attempts[:failures]],
                         [(how, n) for n in range(failures)])
        self.assertEqual(s.inform.retry_count, failures)
        for code in ("0 BOOTSTRAP", "1 BOOT"):
            self.assertIn(code, s.event_codes, "event lost with the failed session")
        nxt = self.session()
        self.assertEqual(nxt.inform.retry_count, 0, "RetryCount not reset after a successful session")

    def test_retry_after_http_500(self):
        self.check_retry("500", failures=2)

    def test_retry_after_a_dropped_connection(self):
        self.check_retry("drop")

    def test_retry_after_an_acs_fault(self):
        self.check_retry("fault")

    def test_connection_request_event_is_not_retried(self):
        self.start(cw.spa([("Device.DeviceInfo.FriendlyName", 2, None)]))
        mark = self.acs.mark()
        self.acs.fail_next(1, "500", when=is_cr)
        self.assertIn(self.connection_request().status, (200, 204))
        self.acs.wait_attempt(lambda a: "6 CONNECTION REQUEST" in a.inform.event_codes)
        self.admin_set("Device.DeviceInfo.FriendlyName", "After a failed CR session")
        s = self.acs.wait_session(since=mark)
        self.assertEqual(s.params.get("Device.DeviceInfo.FriendlyName"), "After a failed CR session")
        self.assertNotIn("6 CONNECTION REQUEST", s.event_codes, "6 CONNECTION REQUEST retried")
        self.assertGreaterEqual(s.inform.retry_count, 1)

    def test_reboot_events_survive_a_failed_session(self):
        self.acs.fail_next(1, "500", when=lambda inform: inform.has("1 BOOT") and not inform.has("0 BOOTSTRAP"))
        self.start(cw.reboot("rb-retry"))
        s = self.acs.wait_session(lambda s: s.has("1 BOOT"))
        self.assertIn(("M Reboot", "rb-retry"), s.events)
        self.assertEqual(s.inform.retry_count, 1)
        failed = [a for a in self.acs.attempts if a.outcome == "500"]
        self.assertEqual(len(failed), 1)
        self.assertIn(("M Reboot", "rb-retry"), failed[0].inform.events)


# ---------------------------------------------------------------------------
# Connection Requests
# ---------------------------------------------------------------------------

class ConnectionRequests(CwmpCase):

    def barrier(self, mark):
        """A session that surely comes after everything raised before now:
        an admin change of an actively notified parameter."""
        self.admin_set("Device.DeviceInfo.FriendlyName", "Barrier %d" % mark)
        return self.acs.wait_session(
            lambda s: s.params.get("Device.DeviceInfo.FriendlyName") == "Barrier %d" % mark, since=mark)

    def test_connection_request_opens_a_session(self):
        self.start()
        url = self.cr_url()
        status, headers, _ = cw.http_get(url)
        self.assertEqual(status, 401)
        challenges = [cw.parse_auth(v) for v in headers.get_all("WWW-Authenticate")]
        self.assertIn("digest", [c[0] for c in challenges])
        mark = self.acs.mark()
        r = self.connection_request()
        self.assertIn(r.status, (200, 204))
        s = self.acs.wait_session(is_cr, since=mark)
        self.assertNotIn("0 BOOTSTRAP", s.event_codes)
        self.assertEqual(s.params["Device.ManagementServer.ConnectionRequestURL"], url)

    def test_connection_request_with_sha256(self):
        self.start()
        mark = self.acs.mark()
        r = self.connection_request(algorithm="SHA-256")
        self.assertIn(r.status, (200, 204))
        self.acs.wait_session(is_cr, since=mark)

    def test_bad_credentials_are_refused_without_a_session(self):
        self.start(cw.spa([("Device.DeviceInfo.FriendlyName", 2, None)]))
        mark = self.acs.mark()
        r = cw.connection_request(self.cr_url(), CR_USER, "not-the-password")
        self.assertEqual(r.status, 401)
        r = cw.connection_request(self.cr_url(), "someone-else", CR_PASS)
        self.assertEqual(r.status, 401)
        self.barrier(mark)
        self.assertEqual([s for s in self.acs.sessions_since(mark) if is_cr(s)], [],
                         "a badly authenticated request opened a session")

    def test_replayed_authorization_is_refused(self):
        self.start()
        mark = self.acs.mark()
        r = self.connection_request()
        self.assertIn(r.status, (200, 204))
        self.acs.wait_session(is_cr, since=mark)
        again = cw.replay(self.cr_url(), r.authorization)
        self.assertEqual(again.status, 401, "nonce and nc replayed")

    def test_too_many_requests_get_503(self):
        self.start()
        url = self.cr_url()
        statuses = []
        for _ in range(60):
            r = cw.connection_request(url, CR_USER, CR_PASS)
            statuses.append(r.status)
            if r.status == 503:
                self.assertIsNone(r.headers.get("Retry-After"))
                break
        self.assertIn(503, statuses, "no rate limit in %d requests" % len(statuses))
        self.assertIn(statuses[0], (200, 204))
        self.assertTrue(set(statuses) <= {200, 204, 503}, statuses)


# ---------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------

class Notifications(CwmpCase):

    def test_active_notification_of_an_admin_change(self):
        self.start(cw.spa([("Device.DeviceInfo.HostName", 2, None)]))
        mark = self.acs.mark()
        self.admin_set("Device.DeviceInfo.HostName", "lab-gw")
        s = self.acs.wait_session(lambda s: s.has("4 VALUE CHANGE"), since=mark)
        self.assertEqual(s.params.get("Device.DeviceInfo.HostName"), "lab-gw")
        self.assertNotIn("6 CONNECTION REQUEST", s.event_codes)

    def test_no_notification_of_the_acs_own_change(self):
        self.start(cw.spa([("Device.DeviceInfo.HostName", 2, None), ("Device.DeviceInfo.FriendlyName", 2, None)]),
                   cw.spv([("Device.DeviceInfo.HostName", "acs-set")], "by-acs"))
        mark = self.acs.mark()
        self.admin_set("Device.DeviceInfo.FriendlyName", "After ACS")
        s = self.acs.wait_session(lambda s: s.params.get("Device.DeviceInfo.FriendlyName") == "After ACS",
                                  since=mark)
        self.assertIn("4 VALUE CHANGE", s.event_codes)
        for seen in self.acs.sessions_since(mark):
            self.assertNotIn("Device.DeviceInfo.HostName", seen.params, "the ACS's own change notified back")

    def test_passive_notification_rides_the_next_inform(self):
        self.start(cw.spa([("Device.DeviceInfo.HostName", 1, None)]))
        mark = self.acs.mark()
        self.admin_set("Device.DeviceInfo.HostName", "passive-gw")
        r = self.connection_request()
        self.assertIn(r.status, (200, 204))
        s = self.acs.wait_session(since=mark)
        self.assertIn("6 CONNECTION REQUEST", s.event_codes, "a passive change opened a session of its own")
        self.assertIn("4 VALUE CHANGE", s.event_codes)
        self.assertEqual(s.params.get("Device.DeviceInfo.HostName"), "passive-gw")


# ---------------------------------------------------------------------------
# ScheduleInform, Reboot, FactoryReset, restarts
# ---------------------------------------------------------------------------

class Lifecycle(CwmpCase):

    def test_schedule_inform(self):
        s = self.start(cw.schedule_inform(1, "si-1"), cw.schedule_inform(0, "si-zero"))
        self.answered(s, "ScheduleInform")
        self.fault(s.answers()[1], 9003)
        t = self.acs.wait_session(lambda s: s.has("M ScheduleInform", "si-1"))
        self.assertIn("3 SCHEDULED", t.event_codes)
        self.assertNotIn(("M ScheduleInform", "si-zero"), t.events)

    def test_several_schedule_informs(self):
        self.start(cw.schedule_inform(1, "si-a"), cw.schedule_inform(1, "si-b"))
        seen = set()
        while seen != {"si-a", "si-b"}:
            s = self.acs.wait_session(lambda s: s.has("M ScheduleInform"))
            self.assertIn("3 SCHEDULED", s.event_codes)
            keys = [k for c, k in s.events if c == "M ScheduleInform"]
            self.assertFalse(seen & set(keys), "a ScheduleInform reported twice")
            seen |= set(keys)

    def test_periodic_inform(self):
        s = self.start(cw.spv([("Device.ManagementServer.PeriodicInformInterval", "1", "xsd:unsignedInt"),
                               ("Device.ManagementServer.PeriodicInformEnable", "true", "xsd:boolean")], "periodic"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        p = self.acs.wait_session(lambda s: s.has("2 PERIODIC"))
        self.assertEqual(p.params["Device.ManagementServer.ParameterKey"], "periodic")
        self.acs.wait_session(lambda s: s.has("2 PERIODIC"))

    def test_schedule_inform_survives_a_restart(self):
        self.start(cw.schedule_inform(4, "si-persist"))
        self.assertEqual(self.agent.stop(), 0)
        early = [s for s in self.acs.sessions if s.has("M ScheduleInform")]
        self.assertEqual(early, [], "the test machine is too slow: the Inform came before the restart")
        self.agent.start()
        s = self.acs.wait_session(lambda s: s.has("M ScheduleInform", "si-persist"))
        self.assertIn("3 SCHEDULED", s.event_codes)

    def test_reboot(self):
        self.start(cw.reboot("rb-7"))
        pid = self.agent.proc.pid
        s = self.acs.wait_session(lambda s: s.has("1 BOOT"))
        self.assertIn(("M Reboot", "rb-7"), s.events)
        self.assertNotIn("0 BOOTSTRAP", s.event_codes)
        self.assertIsNone(self.agent.proc.poll(), "duetd exited instead of restarting in place")
        self.assertEqual(self.agent.proc.pid, pid)

    def test_factory_reset(self):
        self.start(cw.spv([("Device.DeviceInfo.ProvisioningCode", "BEFORE.RESET")], "pre-reset"),
                   cw.spa([("Device.DeviceInfo.HostName", 2, None)]))
        mark = self.acs.mark()
        self.acs.next_session(cw.factory_reset())
        self.acs.next_session(cw.gpa("Device.DeviceInfo.HostName"))
        r = self.connection_request()
        self.assertIn(r.status, (200, 204))
        first = self.acs.wait_session(is_cr, since=mark)
        self.answered(first, "FactoryReset")
        s = self.acs.wait_session(lambda s: s.has("0 BOOTSTRAP"))
        self.assertIn("1 BOOT", s.event_codes)
        self.assertEqual(s.params["Device.DeviceInfo.ProvisioningCode"], "DUET.DEMO")
        self.assertEqual(s.params["Device.ManagementServer.ParameterKey"], "")
        self.assertEqual(self.answered(s, "GetParameterAttributes").attributes()["Device.DeviceInfo.HostName"][0], 0,
                         "notification attributes survived the factory reset")


# ---------------------------------------------------------------------------
# File transfers
# ---------------------------------------------------------------------------

class TransferChecks:
    """What the transfer tests share; self.files is their file server."""

    def check_transfer_complete(self, key, method="M Download", code=0):
        s = self.acs.wait_session(lambda s: s.has(method, key) and transfer_complete(s) is not None)
        self.assertIn("7 TRANSFER COMPLETE", s.event_codes)
        tc = transfer_complete(s)
        self.assertEqual(tc.get("CommandKey"), key)
        fault = tc.get("FaultStruct", {})
        self.assertEqual(int(fault.get("FaultCode", "-1")), code, fault)
        if code == 0:
            self.assertEqual(fault.get("FaultString", ""), "")
            self.assertNotEqual(tc.get("CompleteTime"), UNKNOWN_TIME)
        else:
            self.assertNotEqual(fault.get("FaultString", ""), "")
        return s

    def download_config(self, key, extra=()):
        self.files.files["/cfg/duet.cfg"] = (b"Device.DeviceInfo.FriendlyName CfgApplied\n"
                                             b"Device.DeviceInfo.HostName cfg-host\n")
        s = self.start(cw.download(self.files.url("/cfg/duet.cfg"), CONFIG, key,
                                   size=len(self.files.files["/cfg/duet.cfg"])), extra=extra)
        status = self.answered(s, "Download").get("Status")
        self.assertIn(status, ("0", "1"))
        if status == "1":
            self.check_transfer_complete(key)
        self.assertEqual(self.admin_get("Device.DeviceInfo.FriendlyName"), "CfgApplied")
        self.assertEqual(self.admin_get("Device.DeviceInfo.HostName"), "cfg-host")
        self.assertTrue(self.files.gets("/cfg/duet.cfg"))



class Transfers(TransferChecks, CwmpCase):

    def setUp(self):
        super().setUp()
        self.files = cw.FileServer()
        self.addCleanup(self.files.close)

    def test_download_vendor_configuration_file(self):
        self.download_config("dl-cfg")

    def test_download_firmware_image(self):
        self.files.files["/fw/duetgw-0.2.0.img"] = cw.firmware_image("0.2.0", "duetgw-0.2.0.img")
        s = self.start(cw.download(self.files.url("/fw/duetgw-0.2.0.img"), FIRMWARE, "fw-1"))
        self.assertEqual(self.answered(s, "Download").get("Status"), "1")
        t = self.check_transfer_complete("fw-1")
        self.assertIn("1 BOOT", t.event_codes)
        self.assertNotIn("0 BOOTSTRAP", t.event_codes)
        self.assertEqual(t.params["Device.DeviceInfo.SoftwareVersion"], "0.2.0")
        self.assertEqual(self.admin_get("Device.DeviceInfo.SoftwareVersion"), "0.2.0")

    def test_download_of_a_missing_file_is_9016(self):
        s = self.start(cw.download(self.files.url("/no/such.cfg"), CONFIG, "dl-404"))
        self.assertEqual(self.answered(s, "Download").get("Status"), "1")
        self.check_transfer_complete("dl-404", code=9016)

    def test_upload_vendor_configuration_file(self):
        s = self.start(cw.upload(self.files.url("/up/duet.cfg"), "1 Vendor Configuration File", "ul-1"))
        status = self.answered(s, "Upload").get("Status")
        self.assertIn(status, ("0", "1"))
        data = self.files.wait_upload("/up/duet.cfg")
        self.assertIn(b"Device.", data)
        if status == "1":
            self.check_transfer_complete("ul-1", method="M Upload")

    def test_queued_transfers_and_cancel(self):
        self.files.files["/cfg/later.cfg"] = b"Device.DeviceInfo.FriendlyName Later\n"
        s = self.start(cw.download(self.files.url("/cfg/later.cfg"), CONFIG, "later", delay=3600),
                       cw.get_all_queued_transfers(), cw.get_queued_transfers(),
                       cw.cancel_transfer("later"), cw.get_all_queued_transfers(),
                       cw.cancel_transfer("no-such-key"))
        a = s.answers()
        self.assertEqual(a[0].get("Status"), "1")
        queued = [t for t in a[1].transfers() if t.get("CommandKey") == "later"]
        self.assertEqual(len(queued), 1, a[1].transfers())
        self.assertEqual(queued[0].get("State"), "1")
        self.assertIn(queued[0].get("IsDownload"), ("1", "true"))
        self.assertEqual(queued[0].get("FileType"), CONFIG)
        self.assertEqual([t.get("State") for t in a[2].transfers() if t.get("CommandKey") == "later"], ["1"])
        self.assertEqual(a[3].kind, "CancelTransferResponse", a[3].fault)
        self.assertEqual([t for t in a[4].transfers() if t.get("CommandKey") == "later"], [])
        self.fault(a[5], 9003)

    def test_schedule_download(self):
        self.files.files["/cfg/window.cfg"] = b"Device.DeviceInfo.HostName window-host\n"
        url = self.files.url("/cfg/window.cfg")
        s = self.start(cw.schedule_download(url, CONFIG, [(5, 1, "1 At Any Time", "", 0)], "sd-bad"),
                       cw.schedule_download(url, CONFIG, [(0, 60, "1 At Any Time", "", 0),
                                                          (30, 120, "1 At Any Time", "", 0)], "sd-overlap"),
                       cw.schedule_download(url, CONFIG, [(0, 3600, "1 At Any Time", "", 0)], "sd-1"))
        a = s.answers()
        self.fault(a[0], 9003)
        self.fault(a[1], 9003)
        self.assertEqual(a[2].kind, "ScheduleDownloadResponse", a[2].fault)
        self.check_transfer_complete("sd-1", method="M ScheduleDownload")
        self.assertEqual(self.admin_get("Device.DeviceInfo.HostName"), "window-host")

    def test_download_arguments_refused(self):
        self.files.files["/cfg/x.cfg"] = b"Device.DeviceInfo.HostName x\n"
        s = self.start(cw.download("http://user:secret@127.0.0.1:%d/cfg/x.cfg" % self.files.port, CONFIG, "userinfo"),
                       cw.download(self.files.url("/cfg/x.cfg"), "2 Web Content", "web"),
                       cw.upload(self.files.url("/up/x"), "7 Nothing We Know", "up-bad"))
        for ans in s.answers():
            self.fault(ans, 9003)

    def test_transfer_complete_is_retried_until_acknowledged(self):
        self.acs.fail_cpe_request("TransferComplete", 8005)
        self.start(cw.download(self.files.url("/no/such.cfg"), CONFIG, "tc-8005"))
        s = self.check_transfer_complete("tc-8005", code=9016)
        if len(s.requests_of("TransferComplete")) < 2:  # not again in that session: in a later one
            after = self.acs.sessions.index(s) + 1
            self.assertIn(self.connection_request().status, (200, 204))
            nxt = self.acs.wait_session(lambda x: transfer_complete(x) is not None, since=after)
            self.assertIn(("M Download", "tc-8005"), nxt.events)
            self.assertEqual(transfer_complete(nxt).get("CommandKey"), "tc-8005")

    def test_unacknowledged_transfer_complete_survives_a_restart(self):
        self.acs.fail_cpe_request("TransferComplete", "drop")
        self.start(cw.download(self.files.url("/no/such.cfg"), CONFIG, "tc-keep"),
                   overrides={"Device.ManagementServer.CWMPRetryMinimumWaitInterval": "600"})
        self.acs.wait_for(lambda acs: any(s.requests_of("TransferComplete") for s in acs.sessions),
                          what="a TransferComplete")
        self.assertEqual(self.agent.stop(), 0)
        mark = self.acs.mark()
        self.agent.start()
        s = self.acs.wait_session(lambda s: transfer_complete(s) is not None, since=mark)
        self.assertIn("1 BOOT", s.event_codes)
        self.assertIn("7 TRANSFER COMPLETE", s.event_codes)
        self.assertIn(("M Download", "tc-keep"), s.events)
        self.assertEqual(int(transfer_complete(s).get("FaultStruct", {}).get("FaultCode", "-1")), 9016)

    def test_hold_requests(self):
        missing = self.files.url("/no/such.cfg")
        self.acs.next_session(cw.download(missing, CONFIG, "held"))  # the bootstrap session
        self.acs.next_session(cw.gpv("Device.DeviceInfo.ProductClass", hold=True), cw.get_rpc_methods(),
                              hold_inform=True)
        self.start()
        s = self.acs.wait_session(lambda s: s.has("M Download", "held") and transfer_complete(s) is not None)
        release = s.log.index(("acs", "GetRPCMethods", False))
        tc_at = s.log.index(("cpe", "TransferComplete"))
        self.assertGreater(tc_at, release, "TransferComplete sent while HoldRequests was true: %s" % s.log)
        self.assertEqual(self.answered(s, "GetParameterValues").values(), {"Device.DeviceInfo.ProductClass": "DuetGW"})


class HttpsTransfers(TransferChecks, CwmpCase):

    def setUp(self):
        super().setUp()
        try:
            self.ca = cw.TestCa()
        except cw.Unavailable as e:
            self.skipTest(str(e))
        self.addCleanup(self.ca.cleanup)
        self.files = cw.FileServer(tls=self.ca.server_context())
        self.addCleanup(self.files.close)

    def test_download_over_https_with_the_test_ca(self):
        self.download_config("dl-tls", extra=["--tls-ca", self.ca.ca])
        self.assertTrue(self.files.url("/x").startswith("https://"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
