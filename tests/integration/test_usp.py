"""USP messages end to end: the real duetd, a test Controller on its
--usp-socket (UNIX domain socket binding), assertions on the decoded wire.

Covered, with the TR-369 1.4 requirement or error code each checks: Get
(parameters, objects and max_depth, wildcards, search expressions including
the spec's own examples, unique-key addressing, reference following,
invalid paths), GetInstances, GetSupportedDM (against the bundled model,
flags, path forms), GetSupportedProtocol, Set, Add, Delete (allow_partial,
required parameters, every error code of the spec's table that the bundled
model can provoke), Operate (Device.Reboot() through a platform hook,
argument errors, unknown commands), Notify (ValueChange, ObjectCreation,
ObjectDeletion, Boot! after a Reboot(), NotifyResp and retries),
ControllerTrust (untrusted and Full Access Controllers), Record-level
errors, the default EndpointID and durability across kill -9.

MTP-specific behaviour (frames, WebSocket, MQTT) is in test_usp_mtp.py.
"""
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from duet_harness import SCHEMA  # noqa: E402
from usp_controller import (AGENT_ID, CONTROLLER_ID, FULL_ACCESS_ROLE, TIMEOUT, UNTRUSTED_ROLE,  # noqa: E402
                            AgentCase, NoAnswer, Unavailable, UspAgent, UspError, controller_lines, get_msg,
                            get_results, get_values, instances, mtp, notify_of, operate_msg, pb, record,
                            record_kind, status)

ANY = object()  # any value, as long as the parameter is there


# ---------------------------------------------------------------------------
# The bundled model, read independently of the agent
# ---------------------------------------------------------------------------

PRIMITIVES = {
    "base64": "PARAM_BASE_64", "boolean": "PARAM_BOOLEAN", "dateTime": "PARAM_DATE_TIME",
    "decimal": "PARAM_DECIMAL", "hexBinary": "PARAM_HEX_BINARY", "int": "PARAM_INT", "long": "PARAM_LONG",
    "string": "PARAM_STRING", "unsignedInt": "PARAM_UNSIGNED_INT", "unsignedLong": "PARAM_UNSIGNED_LONG",
}


class BundledModel:
    """datamodel/device2.xml as GetSupportedDM should report it: per object,
    access, multi-instance, parameters (access, primitive type or None for
    lists), commands (async, direct input/output parameters), events and
    unique key sets."""

    def __init__(self, path=SCHEMA):
        root = ET.parse(path).getroot()
        self.types = {}
        for dt in root.findall("dataType"):
            self.types[dt.get("name")] = dt
        model = [e for e in root if e.tag == "model"][0]
        self.objects = {}
        for o in model.findall("object"):
            self.objects[o.get("name")] = self._object(o)

    def _primitive(self, syntax):
        if syntax is None or syntax.find("list") is not None:
            return None
        for child in syntax:
            if child.tag in PRIMITIVES:
                return PRIMITIVES[child.tag]
            if child.tag == "dataType":
                return self._datatype(child.get("ref") or child.get("base"))
        return None

    def _datatype(self, name):
        dt = self.types.get(name)
        while dt is not None:
            if dt.find("list") is not None:
                return None
            for child in dt:
                if child.tag in PRIMITIVES:
                    return PRIMITIVES[child.tag]
            dt = self.types.get(dt.get("base"))
        return None

    @staticmethod
    def _args(elem):
        if elem is None:
            return [], []
        return [p.get("name") for p in elem.findall("parameter")], [o.get("name") for o in elem.findall("object")]

    def _object(self, o):
        params = {}
        for p in o.findall("parameter"):
            params[p.get("name")] = (p.get("access", "readOnly"), self._primitive(p.find("syntax")))
        commands = {}
        for c in o.findall("command"):
            commands[c.get("name")] = (c.get("async") == "true", self._args(c.find("input")),
                                       self._args(c.find("output")))
        events = {e.get("name"): self._args(e) for e in o.findall("event")}
        keys = [frozenset(p.get("ref") for p in k.findall("parameter")) for k in o.findall("uniqueKey")]
        return {"access": o.get("access", "readOnly"), "multi": o.get("name").endswith(".{i}."),
                "params": params, "commands": commands, "events": events, "keys": set(keys)}


_model = None


def usp_view_of(objects):
    """What Controllers see of the bundled model (mapping/views.h, the USP
    view): of Device.ManagementServer. only EnableCWMP, which
    Device.CWMPManagementServer.EnableCWMP also serves; none of the CWMP
    variant's DiagnosticsState objects, nor its command-style parameters
    (Reset beside Reset()): Controllers have the commands instead."""
    ms = "Device.ManagementServer."
    cwmp_only = tuple("Device.%s." % o for o in (
        "IP.Diagnostics.IPPing", "IP.Diagnostics.TraceRoute", "IP.Diagnostics.DownloadDiagnostics",
        "IP.Diagnostics.UploadDiagnostics", "IP.Diagnostics.ServerSelectionDiagnostics",
        "IP.Diagnostics.UDPEchoDiagnostics",
        "DNS.Diagnostics.NSLookupDiagnostics"))
    out = {k: v for k, v in objects.items() if (not k.startswith(ms) or k == ms) and not k.startswith(cwmp_only)}
    for k, v in out.items():
        out[k] = dict(v, params={p: a for p, a in v["params"].items() if p + "()" not in v["commands"]})
    out[ms] = dict(out[ms], params={"EnableCWMP": out[ms]["params"]["EnableCWMP"]}, commands={}, events={})
    return out


def model():
    global _model
    if _model is None:
        _model = BundledModel()
    return _model


def supported_form(path):
    """Device.IP.Interface.2.IPv4Address.1. -> Device.IP.Interface.{i}.IPv4Address.{i}."""
    return re.sub(r"\.[0-9]+\.", ".{i}.", re.sub(r"\.[0-9]+\.", ".{i}.", path))


def level(base, path):
    """Object levels below base (an instance number or {i} adds no level)."""
    rel = path[len(base):]
    return len([s for s in rel.split(".") if s and not s.isdigit() and s != "{i}"])


# ---------------------------------------------------------------------------
# Get
# ---------------------------------------------------------------------------

GET_EXTRA = [
    "Device.WiFi.Radio.2.Enable false",
    "Device.IP.Interface.2.Enable true",
    "Device.IP.Interface.2.Name eth0",
    'Device.IP.Interface.2.Alias "wan \\"main\\" 100%"',
    "Device.IP.Interface.2.Type Normal",
    "Device.IP.Interface.2.LowerLayers Device.Ethernet.Interface.1",
    "Device.IP.Interface.2.IPv4Address.1.Enable true",
    "Device.IP.Interface.2.IPv4Address.1.IPAddress 192.0.2.1",
    "Device.IP.Interface.2.IPv4Address.1.SubnetMask 255.255.255.0",
    "Device.IP.Interface.2.IPv4Address.1.AddressingType Static",
    "Device.IP.Interface.2.IPv4Address.2.Enable true",
    "Device.IP.Interface.2.IPv4Address.2.IPAddress 198.51.100.7",
    "Device.IP.Interface.2.IPv4Address.2.AddressingType DHCP",
    "Device.IP.Interface.2.IPv6Address.1.Enable true",
    "Device.IP.Interface.2.IPv6Address.1.IPAddress 2001:db8::1",
    "Device.IP.Interface.2.IPv6Address.1.ValidLifetime 2021-01-01T00:00:00Z",
]

# (requested path, {resolved path: {param: value or ANY}})
SEARCHES = [
    # TR-369 "Search Expression Examples", on this device
    ('Device.IP.Interface.[Type=="Normal"].Status', {"Device.IP.Interface.2.": {"Status": ANY}}),
    ('Device.IP.Interface.[Type=="Normal"].IPv4Address.[AddressingType=="Static"].IPAddress',
     {"Device.IP.Interface.2.IPv4Address.1.": {"IPAddress": "192.0.2.1"}}),
    ('Device.IP.Interface.[Type=="Normal"&&Stats.ErrorsSent>=0].IPv4Address.[AddressingType=="Static"].IPAddress',
     {"Device.IP.Interface.2.IPv4Address.1.": {"IPAddress": "192.0.2.1"}}),
    ('Device.IP.Interface.[Type=="Normal"&&Stats.ErrorsSent<0].IPv4Address.[AddressingType=="Static"].IPAddress',
     {}),
    ("Device.WiFi.Radio.[Enable==true].Name", {"Device.WiFi.Radio.1.": {"Name": "radio0"}}),
    ("Device.WiFi.Radio.[Enable==1].Name", {"Device.WiFi.Radio.1.": {"Name": "radio0"}}),
    ("Device.WiFi.Radio.[Enable!=true].Name", {"Device.WiFi.Radio.2.": {"Name": "radio1"}}),
    ("Device.IP.Interface.*.IPv6Address.[ValidLifetime<2021-06-06T08:00:00Z].IPAddress",
     {"Device.IP.Interface.2.IPv6Address.1.": {"IPAddress": "2001:db8::1"}}),
    ('Device.WiFi.Radio.[SupportedStandards~="ac"].Name', {"Device.WiFi.Radio.2.": {"Name": "radio1"}}),
    ("Device.WiFi.Radio.[TransmitPowerSupported~=50].Name",
     {"Device.WiFi.Radio.1.": {"Name": "radio0"}, "Device.WiFi.Radio.2.": {"Name": "radio1"}}),
    # relational operators on numbers; 036 is 36
    ("Device.WiFi.Radio.[Channel>10].Name", {"Device.WiFi.Radio.2.": {"Name": "radio1"}}),
    ("Device.WiFi.Radio.[Channel<=6].Name", {"Device.WiFi.Radio.1.": {"Name": "radio0"}}),
    ("Device.WiFi.Radio.[Channel==036].Name", {"Device.WiFi.Radio.2.": {"Name": "radio1"}}),
    ("Device.WiFi.Radio.[Channel>=6&&Channel<36].Name", {"Device.WiFi.Radio.1.": {"Name": "radio0"}}),
    # %22 is a quote, %25 a percent sign
    ('Device.IP.Interface.[Alias=="wan %22main%22 100%25"].Name', {"Device.IP.Interface.2.": {"Name": "eth0"}}),
    # wildcards (R-ARC.10)
    ("Device.IP.Interface.*.Type",
     {"Device.IP.Interface.1.": {"Type": "Loopback"}, "Device.IP.Interface.2.": {"Type": "Normal"}}),
    ("Device.WiFi.SSID.*.Name", {"Device.WiFi.SSID.1.": {"Name": "wlan0"}, "Device.WiFi.SSID.2.": {"Name": "wlan1"}}),
    # a search matching nothing is no error (R-GET.1a)
    ('Device.IP.Interface.[Name=="nope"].Type', {}),
    ('Device.IP.Interface.*.IPv4Address.[AddressingType=="IPCP"].IPAddress', {}),
]

UNIQUE_KEYS = [
    ('Device.IP.Interface.[Name=="lo"].Type', {"Device.IP.Interface.1.": {"Type": "Loopback"}}),
    ('Device.WiFi.SSID.[Name=="wlan1"].SSID', {"Device.WiFi.SSID.2.": {"SSID": "Duet-5G"}}),
    ('Device.WiFi.SSID.[BSSID=="02:d0:e7:00:01:10"].Name', {"Device.WiFi.SSID.1.": {"Name": "wlan0"}}),
]

REFERENCES = [
    ("Device.WiFi.SSID.1.LowerLayers+.Name", {"Device.WiFi.Radio.1.": {"Name": "radio0"}}),
    ("Device.WiFi.SSID.2.LowerLayers#1+.Name", {"Device.WiFi.Radio.2.": {"Name": "radio1"}}),
    ("Device.WiFi.SSID.*.LowerLayers#*+.Name",
     {"Device.WiFi.Radio.1.": {"Name": "radio0"}, "Device.WiFi.Radio.2.": {"Name": "radio1"}}),
    ('Device.WiFi.AccessPoint.[SSIDReference+.SSID=="Duet-5G"].Enable',
     {"Device.WiFi.AccessPoint.2.": {"Enable": "true"}}),
    ("Device.IP.Interface.2.LowerLayers+.Name", {"Device.Ethernet.Interface.1.": {"Name": "lo"}}),
]

# (requested path, err_code in its RequestedPathResult)
BAD_PATHS = [
    ("Device.Nope.", 7026),
    ("Device.DeviceInfo.NoSuchParameter", 7026),
    ("Device.IP.Interface.99.Name", 7026),  # R-GET.0: not a search path, no such instance
    ("Device.IP.Interface.99.", 7026),
    ("Device.IP.Interface.*.NoSuchParameter", 7026),  # R-GET.0: not in the supported model
    ("Device.IP.Interface.[Name==lo", 7008),
    ('Device.IP.Interface.[Name=="lo".Type', 7008),
    ("Device..DeviceInfo.", 7008),
    # TR-369 "Searches that are NOT VALID"
    ("Device.IP.Interface.[].", 7008),
    ('Device.IP.Interface.[Type=="Normal"&&IPv4Address.*.AddressingType=="Static"].Status', 7008),
    ('Device.IP.Interface.{Type=="Normal"}.Status', 7008),
    ('Device.WiFi.Radio.[Enable=="true"].Name', 7008),  # boolean compared with a string
    ('Device.IP.Interface.[Name<"eth0"].Type', 7008),  # strings: only == and !=
]


class Get(AgentCase):
    defaults_extra = GET_EXTRA

    def check_rows(self, rows):
        for path, want in rows:
            with self.subTest(path=path):
                code, got = get_results(self.ctl.get(path))[path]
                self.assertEqual(code, 0, "err_code for %s" % path)
                self.assertEqual(sorted(got), sorted(want), path)
                for rp, params in want.items():
                    self.assertEqual(sorted(got[rp]), sorted(params), rp)
                    for k, v in params.items():
                        if v is not ANY:
                            self.assertEqual(got[rp][k], v, rp + k)

    def test_single_parameter(self):
        # R-GET.2, R-GET.3: the parent object, only that parameter
        resp = self.ctl.get("Device.DeviceInfo.Manufacturer")
        self.assertEqual(len(resp.req_path_results), 1)
        self.assertEqual(get_results(resp), {"Device.DeviceInfo.Manufacturer": (
            0, {"Device.DeviceInfo.": {"Manufacturer": "Duet Networks"}})})

    def test_object_with_full_depth(self):
        path = "Device.DeviceInfo."
        code, got = get_results(self.ctl.get(path))[path]
        self.assertEqual(code, 0)
        m = model().objects
        for rp, params in got.items():
            form = supported_form(rp)
            with self.subTest(resolved=rp):
                self.assertTrue(rp.startswith(path))
                self.assertIn(form, m)
                # each object in its own ResolvedPathResult (USP 1.2)
                self.assertEqual(sorted(params), sorted(m[form]["params"]))
        singles = [o for o in m if o.startswith(path) and "{i}" not in o]
        for o in singles:
            self.assertIn(o, got)
        for inst in ("Device.DeviceInfo.FirmwareImage.1.", "Device.DeviceInfo.FirmwareImage.2."):
            self.assertIn(inst, got)
        self.assertEqual(got[path]["SerialNumber"], "DG0000000001")
        self.assertEqual(got["Device.DeviceInfo.FirmwareImage.2."]["Version"], "0.0.9")

    def test_max_depth(self):
        # R-GET.5 and the table of "Get Examples"
        for base in ("Device.DeviceInfo.", "Device.WiFi.SSID.1.", "Device.IP."):
            full = get_results(self.ctl.get(base))[base][1]
            for depth in (1, 2, 3):
                with self.subTest(path=base, max_depth=depth):
                    code, got = get_results(self.ctl.get(base, max_depth=depth))[base]
                    self.assertEqual(code, 0)
                    want = {p: v for p, v in full.items() if level(base, p) < depth}
                    self.assertEqual(sorted(got), sorted(want))
                    self.assertIn(base, got)
        # the spec's own example: max_depth 1 leaves out Stats
        got = get_results(self.ctl.get("Device.WiFi.SSID.1.", max_depth=1))["Device.WiFi.SSID.1."][1]
        self.assertNotIn("Device.WiFi.SSID.1.Stats.", got)
        got = get_results(self.ctl.get("Device.WiFi.SSID.1.", max_depth=2))["Device.WiFi.SSID.1."][1]
        self.assertIn("Device.WiFi.SSID.1.Stats.", got)

    def test_search_expressions(self):
        self.check_rows(SEARCHES)

    def test_unique_key_addressing(self):
        self.check_rows(UNIQUE_KEYS)

    def test_reference_following(self):
        self.check_rows(REFERENCES)
        path = "Device.WiFi.AccessPoint.1.SSIDReference+."
        code, got = get_results(self.ctl.get(path))[path]
        self.assertEqual(code, 0)
        self.assertEqual(got["Device.WiFi.SSID.1."]["SSID"], "Duet-2G")

    def test_invalid_paths(self):
        for path, want in BAD_PATHS:
            with self.subTest(path=path):
                code, got = get_results(self.ctl.get(path))[path]
                self.assertEqual(code, want, path)
                self.assertEqual(got, {})

    def test_one_result_per_requested_path(self):
        paths = ["Device.DeviceInfo.ProductClass", "Device.Nope.", "Device.WiFi.SSID.2.Name"]
        resp = self.ctl.get(*paths)
        self.assertEqual([r.requested_path for r in resp.req_path_results], paths)
        res = get_results(resp)
        self.assertEqual(res["Device.DeviceInfo.ProductClass"], (0, {"Device.DeviceInfo.": {"ProductClass": "DuetGW"}}))
        self.assertEqual(res["Device.Nope."][0], 7026)
        self.assertEqual(res["Device.WiFi.SSID.2.Name"], (0, {"Device.WiFi.SSID.2.": {"Name": "wlan1"}}))

    def test_hidden_parameter_reads_empty(self):
        self.assertEqual(self.ctl.value("Device.WiFi.AccessPoint.1.Security.KeyPassphrase"), "")
        self.assertEqual(self.ctl.value("Device.WiFi.AccessPoint.2.Security.KeyPassphrase"), "")

    def test_live_values(self):
        up1 = int(self.ctl.value("Device.DeviceInfo.UpTime"))
        self.assertGreaterEqual(up1, 0)
        rx = self.ctl.value("Device.IP.Interface.1.Stats.BytesReceived")
        self.assertRegex(rx, r"^[0-9]+$")


# ---------------------------------------------------------------------------
# GetInstances, GetSupportedDM, GetSupportedProtocol
# ---------------------------------------------------------------------------

class GetInstances(AgentCase):
    defaults_extra = GET_EXTRA

    def test_first_level_only(self):
        got = instances(self.ctl.get_instances("Device.WiFi.SSID.", first_level_only=True))
        code, insts = got["Device.WiFi.SSID."]
        self.assertEqual(code, 0)
        self.assertEqual(sorted(insts), ["Device.WiFi.SSID.1.", "Device.WiFi.SSID.2."])
        # CurrInstance.unique_keys: every unique key parameter the model has
        want_names = set().union(*model().objects["Device.WiFi.SSID.{i}."]["keys"])
        for path, keys in insts.items():
            self.assertEqual(set(keys), want_names, path)
            values = get_values(self.ctl.get(*(path + k for k in keys)))
            for k, v in keys.items():
                self.assertEqual(v, values[path + k], path + k)
        self.assertEqual(insts["Device.WiFi.SSID.1."]["Name"], "wlan0")

    def test_all_levels(self):
        code, insts = instances(self.ctl.get_instances("Device.IP.Interface."))["Device.IP.Interface."]
        self.assertEqual(code, 0)
        self.assertEqual(sorted(insts), sorted([
            "Device.IP.Interface.1.", "Device.IP.Interface.1.IPv4Address.1.", "Device.IP.Interface.1.IPv6Address.1.",
            "Device.IP.Interface.2.", "Device.IP.Interface.2.IPv4Address.1.", "Device.IP.Interface.2.IPv4Address.2.",
            "Device.IP.Interface.2.IPv6Address.1."]))
        code, insts = instances(self.ctl.get_instances("Device.IP.Interface.", first_level_only=True))[
            "Device.IP.Interface."]
        self.assertEqual(sorted(insts), ["Device.IP.Interface.1.", "Device.IP.Interface.2."])

    def test_search_path(self):
        p = 'Device.IP.Interface.[Name=="eth0"].IPv4Address.'
        code, insts = instances(self.ctl.get_instances(p, first_level_only=True))[p]
        self.assertEqual(code, 0)
        self.assertEqual(sorted(insts),
                         ["Device.IP.Interface.2.IPv4Address.1.", "Device.IP.Interface.2.IPv4Address.2."])

    def test_errors_per_path(self):
        rows = [("Device.DeviceInfo.", 7018), ("Device.Nope.", 7026), ("Device.IP.Interface.[Name==", 7008),
                ("Device.LocalAgent.Request.", 0)]
        got = instances(self.ctl.get_instances(*[p for p, _ in rows]))
        for path, code in rows:
            with self.subTest(path=path):
                self.assertEqual(got[path][0], code)
                self.assertEqual(got[path][1], {})


OBJ_ACCESS = {("readOnly", True): "OBJ_READ_ONLY", ("readWrite", True): "OBJ_ADD_DELETE",
              ("readOnly", False): "OBJ_READ_ONLY", ("readWrite", False): "OBJ_READ_ONLY"}
PARAM_ACCESS = {"readOnly": "PARAM_READ_ONLY", "readWrite": "PARAM_READ_WRITE",
                "writeOnceReadOnly": "PARAM_READ_WRITE"}


class SupportedDM(AgentCase):

    def gsdm(self, path, **flags):
        resp = self.ctl.get_supported_dm(path, **flags)
        self.assertEqual(len(resp.req_obj_results), 1)
        r = resp.req_obj_results[0]
        self.assertEqual(r.req_obj_path, path)
        return r

    def test_whole_model_matches_the_bundled_file(self):
        r = self.gsdm("Device.")
        self.assertEqual(r.err_code, 0)
        R = pb().msg.GetSupportedDMResp
        m = usp_view_of(model().objects)
        got = {o.supported_obj_path: o for o in r.supported_objs}
        self.assertEqual(len(got), len(r.supported_objs), "an object reported twice")
        self.assertEqual(sorted(got), sorted(m))
        n_params = n_cmds = n_events = 0
        for name, o in got.items():
            want = m[name]
            with self.subTest(obj=name):
                self.assertEqual(o.is_multi_instance, want["multi"])
                self.assertEqual(R.ObjAccessType.Name(o.access), OBJ_ACCESS[(want["access"], want["multi"])])
                params = {p.param_name: p for p in o.supported_params}
                self.assertEqual(sorted(params), sorted(want["params"]))
                for pname, p in params.items():
                    acc, ptype = want["params"][pname]
                    self.assertEqual(R.ParamAccessType.Name(p.access), PARAM_ACCESS[acc], pname)
                    if ptype:
                        self.assertEqual(R.ParamValueType.Name(p.value_type), ptype, pname)
                    self.assertNotEqual(p.value_type, R.PARAM_UNKNOWN, pname)
                    self.assertNotEqual(p.value_change, R.VALUE_CHANGE_UNKNOWN, pname)
                cmds = {c.command_name: c for c in o.supported_commands}
                self.assertEqual(sorted(cmds), sorted(want["commands"]))
                for cname, c in cmds.items():
                    is_async, (ins, in_objs), (outs, out_objs) = want["commands"][cname]
                    self.assertEqual(c.command_type, R.CMD_ASYNC if is_async else R.CMD_SYNC, cname)
                    self.assertTrue(set(ins) <= set(c.input_arg_names), cname)
                    self.assertTrue(set(outs) <= set(c.output_arg_names), cname)
                    if not in_objs:
                        self.assertEqual(sorted(c.input_arg_names), sorted(ins), cname)
                    if not out_objs:
                        self.assertEqual(sorted(c.output_arg_names), sorted(outs), cname)
                events = {e.event_name: e for e in o.supported_events}
                self.assertEqual(sorted(events), sorted(want["events"]))
                for ename, e in events.items():
                    args, arg_objs = want["events"][ename]
                    if not arg_objs:
                        self.assertEqual(sorted(e.arg_names), sorted(args), ename)
                keys = {frozenset(k.key_names) for k in o.unique_key_sets}
                self.assertEqual(keys, want["keys"])
            n_params += len(o.supported_params)
            n_cmds += len(o.supported_commands)
            n_events += len(o.supported_events)
        # the totals duetctl schema-stats prints for the bundled file
        self.assertEqual((len(got), n_params, n_cmds, n_events),
                         (len(m), sum(len(o["params"]) for o in m.values()),
                          sum(len(o["commands"]) for o in m.values()), sum(len(o["events"]) for o in m.values())))

    def test_known_entries(self):
        R = pb().msg.GetSupportedDMResp
        r = self.gsdm("Device.LocalAgent.Controller.")
        o = {x.supported_obj_path: x for x in r.supported_objs}["Device.LocalAgent.Controller.{i}."]
        self.assertEqual(o.access, R.OBJ_ADD_DELETE)
        self.assertTrue(o.is_multi_instance)
        self.assertEqual({frozenset(k.key_names) for k in o.unique_key_sets},
                         {frozenset(["EndpointID"]), frozenset(["Alias"])})
        params = {p.param_name: p for p in o.supported_params}
        self.assertEqual(params["EndpointID"].access, R.PARAM_READ_WRITE)
        self.assertEqual(params["EndpointID"].value_type, R.PARAM_STRING)
        self.assertEqual(params["Alias"].access, R.PARAM_READ_WRITE)  # writeOnceReadOnly
        self.assertEqual(params["MTPNumberOfEntries"].access, R.PARAM_READ_ONLY)
        self.assertEqual(params["MTPNumberOfEntries"].value_type, R.PARAM_UNSIGNED_INT)
        r = self.gsdm("Device.LocalAgent.Request.")
        o = {x.supported_obj_path: x for x in r.supported_objs}["Device.LocalAgent.Request.{i}."]
        self.assertEqual(o.access, R.OBJ_READ_ONLY)

    def test_first_level_only(self):
        base = "Device.LocalAgent."
        r = self.gsdm(base, first_level_only=True)
        self.assertEqual(r.err_code, 0)
        got = {o.supported_obj_path: o for o in r.supported_objs}
        children = [o for o in model().objects if o.startswith(base) and level(base, o) == 1]
        self.assertEqual(sorted(got), sorted([base] + children))
        self.assertGreater(len(got[base].supported_params), 0)
        for c in children:
            with self.subTest(child=c):
                o = got[c]
                self.assertEqual((len(o.supported_params), len(o.supported_commands), len(o.supported_events)),
                                 (0, 0, 0))

    def test_return_flags(self):
        for flags in ({"commands": False, "events": False, "params": False, "unique_key_sets": False},
                      {"commands": True, "events": False, "params": False, "unique_key_sets": False},
                      {"commands": False, "events": True, "params": False, "unique_key_sets": True}):
            with self.subTest(**flags):
                r = self.gsdm("Device.", first_level_only=True, **flags)
                objs = {o.supported_obj_path: o for o in r.supported_objs}
                dev = objs["Device."]
                self.assertEqual(bool(dev.supported_commands), flags["commands"])
                self.assertEqual(bool(dev.supported_events), flags["events"])
                self.assertEqual(bool(dev.supported_params), flags["params"])
                if flags["unique_key_sets"] is False:
                    self.assertFalse(any(o.unique_key_sets for o in r.supported_objs))

    def test_path_forms(self):
        # {i}. may be left off; an instantiated path works as long as it exists
        want = "Device.IP.Interface.{i}.IPv4Address.{i}."
        for path in ("Device.IP.Interface.{i}.IPv4Address.", want, "Device.IP.Interface.1.IPv4Address."):
            with self.subTest(path=path):
                r = self.gsdm(path, first_level_only=True)
                self.assertEqual(r.err_code, 0)
                paths = [o.supported_obj_path for o in r.supported_objs]
                self.assertIn(want, paths)
                self.assertTrue(all(p.startswith(want) for p in paths), paths)

    def test_parameter_command_and_event_paths(self):
        r = self.gsdm("Device.DeviceInfo.Manufacturer")
        self.assertEqual(r.err_code, 0)
        self.assertEqual([o.supported_obj_path for o in r.supported_objs], ["Device.DeviceInfo."])
        self.assertEqual([p.param_name for p in r.supported_objs[0].supported_params], ["Manufacturer"])
        r = self.gsdm("Device.Reboot()")
        o = r.supported_objs[0]
        self.assertEqual([c.command_name for c in o.supported_commands], ["Reboot()"])
        self.assertEqual(sorted(o.supported_commands[0].input_arg_names), ["Cause", "Reason"])
        self.assertEqual(o.supported_commands[0].command_type, pb().msg.GetSupportedDMResp.CMD_SYNC)
        self.assertEqual((len(o.supported_params), len(o.supported_events)), (0, 0))
        r = self.gsdm("Device.Boot!")
        o = r.supported_objs[0]
        self.assertEqual([e.event_name for e in o.supported_events], ["Boot!"])
        self.assertEqual(sorted(o.supported_events[0].arg_names),
                         sorted(model().objects["Device."]["events"]["Boot!"][0]))

    def test_invalid_path(self):
        for path, code in (("Device.Nope.", 7026), ("Device.DeviceInfo.Nope", 7026), ("Device.Nope()", 7026)):
            with self.subTest(path=path):
                self.assertEqual(self.gsdm(path).err_code, code)

    def test_get_supported_protocol(self):
        resp = self.ctl.get_supported_proto("1.3,1.4")
        self.assertEqual(resp.agent_supported_protocol_versions, "1.0,1.1,1.2,1.3,1.4")


# ---------------------------------------------------------------------------
# Set
# ---------------------------------------------------------------------------

# (object, parameter, value, USP error code of the ParameterError)
BAD_SETTINGS = [
    ("Device.DeviceInfo.", "Manufacturer", "Someone Else", 7013),
    ("Device.LocalAgent.Controller.1.", "PeriodicNotifInterval", "often", 7011),
    ("Device.LocalAgent.Controller.1.", "PeriodicNotifInterval", "0", 7012),
    ("Device.WiFi.Radio.1.", "Enable", "perhaps", 7011),
    ("Device.DeviceInfo.", "FriendlyName", "x" * 33, 7012),
    ("Device.DeviceInfo.", "NoSuchParameter", "1", 7010),
]


class Set(AgentCase):

    def test_set_one_parameter(self):
        resp = self.ctl.set({"Device.DeviceInfo.": {"FriendlyName": "Set by USP"}}, allow_partial=True)
        self.assertEqual(len(resp.updated_obj_results), 1)
        res = resp.updated_obj_results[0]
        self.assertEqual(res.requested_path, "Device.DeviceInfo.")
        st, ok = status(res)
        self.assertEqual(st, "success")
        self.assertEqual(len(ok.updated_inst_results), 1)
        self.assertEqual(ok.updated_inst_results[0].affected_path, "Device.DeviceInfo.")
        self.assertEqual(dict(ok.updated_inst_results[0].updated_params), {"FriendlyName": "Set by USP"})
        self.assertEqual(self.admin.value("Device.DeviceInfo.FriendlyName"), "Set by USP")

    def test_required_failure_without_allow_partial_is_an_error(self):
        for obj, param, value, code in BAD_SETTINGS:
            with self.subTest(param=obj + param, value=value):
                before = self.admin.value("Device.DeviceInfo.ProvisioningCode")
                with self.assertRaises(UspError) as cm:
                    self.ctl.set([("Device.DeviceInfo.", {"ProvisioningCode": "NOT.APPLIED"}),
                                  (obj, {param: value})], allow_partial=False)
                # 7021 for the object, the parameter's own code in param_errs
                self.assertEqual(cm.exception.code, 7021, str(cm.exception))
                self.assertEqual(cm.exception.param_codes(), {obj + param: code}, str(cm.exception))
                self.assertEqual(self.admin.value("Device.DeviceInfo.ProvisioningCode"), before)

    def test_required_failure_with_allow_partial(self):
        for obj, param, value, code in BAD_SETTINGS:
            with self.subTest(param=obj + param, value=value):
                resp = self.ctl.set([("Device.DeviceInfo.", {"ProvisioningCode": "PARTIAL.%d" % code}),
                                     (obj, {param: value})], allow_partial=True)
                first, second = resp.updated_obj_results
                self.assertEqual(status(first)[0], "success")
                self.assertEqual(self.admin.value("Device.DeviceInfo.ProvisioningCode"), "PARTIAL.%d" % code)
                st, fail = status(second)
                self.assertEqual(st, "failure")
                self.assertEqual(second.requested_path, obj)
                self.assertEqual(fail.err_code, 7021)
                self.assertEqual([f.affected_path for f in fail.updated_inst_failures], [obj])
                self.assertEqual([(e.param, e.err_code) for e in fail.updated_inst_failures[0].param_errs],
                                 [(param, code)])

    def test_failure_of_a_parameter_that_is_not_required(self):
        # "Other Parameter Failed": still oper_success, with param_errs
        for allow_partial in (False, True):
            with self.subTest(allow_partial=allow_partial):
                value = "OPTIONAL.%s" % allow_partial
                resp = self.ctl.set([("Device.DeviceInfo.", [("ProvisioningCode", value, True),
                                                             ("Manufacturer", "nope", False)])],
                                    allow_partial=allow_partial)
                st, ok = status(resp.updated_obj_results[0])
                self.assertEqual(st, "success")
                r = ok.updated_inst_results[0]
                self.assertEqual(dict(r.updated_params), {"ProvisioningCode": value})
                self.assertEqual([(e.param, e.err_code) for e in r.param_errs], [("Manufacturer", 7013)])
                self.assertEqual(self.admin.value("Device.DeviceInfo.ProvisioningCode"), value)

    def test_search_paths(self):
        resp = self.ctl.set({"Device.WiFi.SSID.*.": {"SSID": "Same-Everywhere"}})
        st, ok = status(resp.updated_obj_results[0])
        self.assertEqual(st, "success")
        self.assertEqual(sorted(r.affected_path for r in ok.updated_inst_results),
                         ["Device.WiFi.SSID.1.", "Device.WiFi.SSID.2."])
        self.assertEqual(self.admin.value("Device.WiFi.SSID.2.SSID"), "Same-Everywhere")
        resp = self.ctl.set({'Device.WiFi.SSID.[Name=="wlan1"].': {"SSID": "Only-Two"}})
        st, ok = status(resp.updated_obj_results[0])
        self.assertEqual([r.affected_path for r in ok.updated_inst_results], ["Device.WiFi.SSID.2."])
        self.assertEqual(self.admin.value("Device.WiFi.SSID.1.SSID"), "Same-Everywhere")
        # R-MSG.4a: a search matching nothing succeeds, empty
        resp = self.ctl.set({'Device.WiFi.SSID.[Name=="none"].': {"SSID": "Nobody"}})
        st, ok = status(resp.updated_obj_results[0])
        self.assertEqual(st, "success")
        self.assertEqual(len(ok.updated_inst_results), 0)

    def test_search_path_is_holistic(self):
        # R-SET.2a: one object failing undoes the others of that obj_path;
        # here both Pools would end with the same unique key Order
        inst = self.admin.request("add", "Device.DHCPv4.Server.Pool.")[0][1]
        self.addCleanup(self.admin.request, "delete", inst)
        self.admin.request("set", inst + "Order", "2")
        before = self.admin.get("Device.DHCPv4.Server.Pool.*.Order")
        self.assertEqual(sorted(before.values()), ["1", "2"])
        with self.assertRaises(UspError) as cm:
            self.ctl.set({"Device.DHCPv4.Server.Pool.*.": {"Order": "7"}})
        e = cm.exception
        self.assertIn(7025, [e.code] + list(e.param_codes().values()), str(e))
        self.assertEqual(self.admin.get("Device.DHCPv4.Server.Pool.*.Order"), before)
        resp = self.ctl.set({"Device.DHCPv4.Server.Pool.*.": {"Order": "7"}}, allow_partial=True)
        st, fail = status(resp.updated_obj_results[0])
        self.assertEqual(st, "failure")
        self.assertGreaterEqual(len(fail.updated_inst_failures), 1)
        self.assertEqual(self.admin.get("Device.DHCPv4.Server.Pool.*.Order"), before)

    def test_object_errors(self):
        rows = [("Device.Nope.", 7026), ("Device.WiFi.SSID.99.", 7016)]
        for path, code in rows:
            with self.subTest(path=path):
                with self.assertRaises(UspError) as cm:
                    self.ctl.set({path: {"Enable": "true"}})
                self.assert_usp_error(cm, code, None, container=7021)
                resp = self.ctl.set({path: {"Enable": "true"}}, allow_partial=True)
                st, fail = status(resp.updated_obj_results[0])
                self.assertEqual(st, "failure")
                self.assertEqual(fail.err_code, code)


# ---------------------------------------------------------------------------
# Add and Delete
# ---------------------------------------------------------------------------

class AddDelete(AgentCase):

    def test_add_with_parameters_returns_unique_keys(self):
        resp = self.ctl.add({"Device.LocalAgent.Controller.": {"EndpointID": "proto::added-1",
                                                                "ProvisioningCode": "P1"}})
        r = resp.created_obj_results[0]
        self.assertEqual(r.requested_path, "Device.LocalAgent.Controller.")
        st, ok = status(r)
        self.assertEqual(st, "success")
        self.assertRegex(ok.instantiated_path, r"^Device\.LocalAgent\.Controller\.[0-9]+\.$")
        # R-ADD.5: every unique key, the ones the Agent assigned too
        self.assertEqual(set(ok.unique_keys), {"EndpointID", "Alias"})
        self.assertEqual(ok.unique_keys["EndpointID"], "proto::added-1")
        self.assertNotEqual(ok.unique_keys["Alias"], "")
        self.assertEqual(self.admin.value(ok.instantiated_path + "Alias"), ok.unique_keys["Alias"])
        self.assertEqual(len(ok.param_errs), 0)
        self.assertEqual(self.admin.value(ok.instantiated_path + "ProvisioningCode"), "P1")

    def test_agent_assigns_unique_keys(self):
        # R-ADD.5: keys left out are assigned by the Agent, valid and unique
        # (Pool: Alias, and Order, an unsignedInt of at least 1)
        orders = set(self.admin.get("Device.DHCPv4.Server.Pool.*.Order").values())
        for i in range(2):
            with self.subTest(add=i + 1):
                resp = self.ctl.add({"Device.DHCPv4.Server.Pool.": {}}, allow_partial=True)
                st, ok = status(resp.created_obj_results[0])
                self.assertEqual(st, "success", "Add %d: %s" % (i + 1, ok))
                self.assertEqual(set(ok.unique_keys), {"Alias", "Order"})
                order = ok.unique_keys["Order"]
                self.assertRegex(order, r"^[1-9][0-9]*$")
                self.assertNotIn(order, orders)
                orders.add(order)

    def test_add_errors(self):
        rows = [
            ("Device.DeviceInfo.", {}, 7018),
            ("Device.LocalAgent.Request.", {}, 7019),
            ("Device.Nope.", {}, 7026),
            ("Device.LocalAgent.Controller.", {"EndpointID": CONTROLLER_ID}, 7025),
        ]
        for path, params, code in rows:
            with self.subTest(path=path, params=params):
                n = len(self.admin.request("instances", "Device.LocalAgent.Controller."))
                with self.assertRaises(UspError) as cm:
                    self.ctl.add({path: params})
                e = cm.exception
                if code == 7025:  # a unique key counts as required: 7021 with the key's ParamError is fine
                    self.assert_usp_error(e, code, None, container=7021)
                else:
                    self.assertEqual(e.code, code, str(e))
                resp = self.ctl.add({path: params}, allow_partial=True)
                st, fail = status(resp.created_obj_results[0])
                self.assertEqual(st, "failure")
                self.assertEqual(fail.err_code, code)  # OperationFailure has no room for a ParamError
                self.assertEqual(len(self.admin.request("instances", "Device.LocalAgent.Controller.")), n)

    def test_add_parameter_errors(self):
        rows = [("USPNotifRetryMinimumWaitInterval", "soon", 7011), ("USPNotifRetryMinimumWaitInterval", "0", 7012),
                ("InheritedRole", FULL_ACCESS_ROLE, 7013), ("NoSuchParameter", "1", 7010)]
        for i, (param, value, code) in enumerate(rows):
            with self.subTest(param=param, value=value):
                # not required: the object is created, the ParameterError reported
                resp = self.ctl.add([("Device.LocalAgent.Controller.",
                                      [("EndpointID", "proto::p-%d" % i, True), (param, value, False)])])
                st, ok = status(resp.created_obj_results[0])
                self.assertEqual(st, "success")
                self.assertEqual([(e.param, e.err_code) for e in ok.param_errs], [(param, code)])
                # required, without allow_partial: an Error and nothing created
                n = len(self.admin.request("instances", "Device.LocalAgent.Controller."))
                with self.assertRaises(UspError) as cm:
                    self.ctl.add([("Device.LocalAgent.Controller.",
                                   [("EndpointID", "proto::q-%d" % i, True), (param, value, True)])])
                # the parameter under the table or under the instance the Add would have made
                self.assert_usp_error(cm, code, r"Device\.LocalAgent\.Controller\.([0-9]+\.)?" + param,
                                      container=7021)
                self.assertEqual(len(self.admin.request("instances", "Device.LocalAgent.Controller.")), n)

    def test_add_is_atomic_without_allow_partial(self):
        table = "Device.LocalAgent.Controller."
        n = len(self.admin.request("instances", table))
        with self.assertRaises(UspError):
            self.ctl.add([(table, {"EndpointID": "proto::atomic"}), ("Device.DeviceInfo.", {})])
        self.assertEqual(len(self.admin.request("instances", table)), n)
        resp = self.ctl.add([(table, {"EndpointID": "proto::atomic"}), ("Device.DeviceInfo.", {})],
                            allow_partial=True)
        self.assertEqual([status(r)[0] for r in resp.created_obj_results], ["success", "failure"])
        self.assertEqual(len(self.admin.request("instances", table)), n + 1)

    def test_add_under_a_search_path(self):
        # one CreatedObjectResult per matched object, same requested_path
        a = self.ctl.add_one("Device.LocalAgent.Controller.", {"EndpointID": "proto::boot-a",
                                                               "ProvisioningCode": "boot-group"})
        b = self.ctl.add_one("Device.LocalAgent.Controller.", {"EndpointID": "proto::boot-b",
                                                               "ProvisioningCode": "boot-group"})
        req = 'Device.LocalAgent.Controller.[ProvisioningCode=="boot-group"].BootParameter.'
        resp = self.ctl.add({req: {"ParameterName": "Device.DeviceInfo.SoftwareVersion"}})
        self.assertEqual([r.requested_path for r in resp.created_obj_results], [req, req])
        made = sorted(status(r)[1].instantiated_path for r in resp.created_obj_results)
        self.assertEqual([p[:len(a)] for p in made if p.startswith(a)], [a])
        self.assertEqual([p[:len(b)] for p in made if p.startswith(b)], [b])
        for p in made:
            self.assertRegex(p, r"\.BootParameter\.[0-9]+\.$")
            self.assertEqual(self.admin.value(p + "ParameterName"), "Device.DeviceInfo.SoftwareVersion")

    def test_delete(self):
        path = self.ctl.add_one("Device.LocalAgent.Controller.", {"EndpointID": "proto::to-delete"})
        resp = self.ctl.delete(path)
        r = resp.deleted_obj_results[0]
        self.assertEqual(r.requested_path, path)
        st, ok = status(r)
        self.assertEqual(st, "success")
        self.assertEqual(list(ok.affected_paths), [path])
        self.assertEqual(len(ok.unaffected_path_errs), 0)
        self.assertNotIn(["I", path], self.admin.request("instances", "Device.LocalAgent.Controller."))

    def test_delete_with_wildcard_and_search(self):
        made = [self.ctl.add_one("Device.LocalAgent.Controller.", {"EndpointID": "proto::gone-%d" % i})
                for i in range(3)]
        resp = self.ctl.delete('Device.LocalAgent.Controller.[EndpointID=="proto::gone-1"].')
        self.assertEqual(list(status(resp.deleted_obj_results[0])[1].affected_paths), [made[1]])
        resp = self.ctl.delete("Device.DHCPv4.Server.Pool.*.")
        st, ok = status(resp.deleted_obj_results[0])
        self.assertEqual(st, "success")
        self.assertGreaterEqual(len(ok.affected_paths), 1)
        self.assertEqual(self.admin.request("instances", "Device.DHCPv4.Server.Pool."), [])
        # R-DEL.2a: valid, matching nothing: success with no affected paths
        resp = self.ctl.delete("Device.DHCPv4.Server.Pool.*.", 'Device.WiFi.SSID.[Name=="none"].')
        for r in resp.deleted_obj_results:
            st, ok = status(r)
            self.assertEqual((st, list(ok.affected_paths)), ("success", []))

    def test_delete_errors(self):
        rows = [
            ("Device.LocalAgent.Controller.999.", 7016),  # R-DEL.1: no such instance
            ("Device.DeviceInfo.FirmwareImage.1.", 7024),  # not deletable (read-only table)
            ("Device.Nope.1.", 7026),
        ]
        for path, code in rows:
            with self.subTest(path=path):
                with self.assertRaises(UspError) as cm:
                    self.ctl.delete(path)
                self.assert_usp_error(cm, code, path)
        self.assertEqual(self.admin.value("Device.DeviceInfo.FirmwareImage.1.Version"), "0.1.0")

    def test_delete_allow_partial(self):
        keep = self.ctl.add_one("Device.LocalAgent.Controller.", {"EndpointID": "proto::keep"})
        gone = self.ctl.add_one("Device.LocalAgent.Controller.", {"EndpointID": "proto::partial"})
        with self.assertRaises(UspError):
            self.ctl.delete(keep, "Device.Nope.1.")
        self.assertIn(["I", keep], self.admin.request("instances", "Device.LocalAgent.Controller."))
        resp = self.ctl.delete(gone, "Device.Nope.1.", allow_partial=True)
        first, second = resp.deleted_obj_results
        self.assertEqual(list(status(first)[1].affected_paths), [gone])
        st, fail = status(second)
        self.assertEqual((st, fail.err_code), ("failure", 7026))


# ---------------------------------------------------------------------------
# Operate
# ---------------------------------------------------------------------------

class Operate(AgentCase):

    @classmethod
    def setUpClass(cls):
        cls.marker = os.path.join(tempfile.gettempdir(), "duet-usp-reboot-%d-%d" %
                                  (os.getpid(), random.randrange(1 << 30)))
        cls.agent_args = ["--reboot-hook", "echo rebooted >> '%s'" % cls.marker]
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if os.path.exists(cls.marker):
            os.unlink(cls.marker)

    def hook_runs(self):
        try:
            with open(self.marker) as f:
                return f.read().count("rebooted")
        except FileNotFoundError:
            return 0

    def wait_hook_runs(self, n):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and self.hook_runs() < n:
            time.sleep(0.02)
        self.assertEqual(self.hook_runs(), n)

    def test_sync_command(self):
        n = self.hook_runs()
        resp = self.ctl.operate("Device.Reboot()", command_key="ck-sync")
        self.assertEqual(len(resp.operation_results), 1)
        r = resp.operation_results[0]
        self.assertEqual(r.executed_command, "Device.Reboot()")
        self.assertEqual(r.WhichOneof("operation_resp"), "req_output_args")
        self.assertEqual(dict(r.req_output_args.output_args), {})
        self.wait_hook_runs(n + 1)

    def test_unknown_input_argument_is_ignored(self):
        # R-OPR.6
        n = self.hook_runs()
        resp = self.ctl.operate("Device.Reboot()", args={"NoSuchArgument": "1", "Reason": "test"})
        self.assertEqual(resp.operation_results[0].WhichOneof("operation_resp"), "req_output_args")
        self.wait_hook_runs(n + 1)

    def test_argument_errors(self):
        rows = [
            ("Device.Reboot()", {"Cause": "NoSuchCause"}, 7027),
            ("Device.LocalAgent.ControllerTrust.RequestChallenge()", {}, 7027),  # R-OPR.5: mandatory ChallengeRef
            ("Device.LocalAgent.ControllerTrust.ChallengeResponse()", {"ChallengeID": "1"}, 7027),
        ]
        n = self.hook_runs()
        for cmd, args, code in rows:
            with self.subTest(command=cmd, args=args):
                resp = self.ctl.operate(cmd, args=args)
                r = resp.operation_results[0]
                self.assertEqual(r.WhichOneof("operation_resp"), "cmd_failure")
                self.assertEqual(r.cmd_failure.err_code, code)
        self.assertEqual(self.hook_runs(), n)

    def test_unknown_command(self):
        for cmd in ("Device.NoSuchCommand()", "Device.DeviceInfo.Reboot()", "Device.Nope.Reboot()"):
            with self.subTest(command=cmd):
                with self.assertRaises(UspError) as cm:
                    self.ctl.operate(cmd)
                self.assertEqual(cm.exception.code, 7026)

    def test_send_resp_false(self):
        # R-OPR.4: the command runs, no OperateResp
        n = self.hook_runs()
        self.ctl.send_msg(operate_msg("no-resp-1", "Device.Reboot()", "ck-quiet", send_resp=False))
        self.wait_hook_runs(n + 1)
        self.ctl.sync()
        self.assertEqual(self.ctl.answers_to("no-resp-1"), [])


# ---------------------------------------------------------------------------
# Notify
# ---------------------------------------------------------------------------

class Notify(AgentCase):
    defaults_extra = ["Device.LocalAgent.Controller.1.USPNotifRetryMinimumWaitInterval 1",
                      "Device.LocalAgent.Controller.1.USPNotifRetryIntervalMultiplier 1000"]

    def subscribe(self, sub_id, kind, refs, retry=False, persistent=False):
        path = self.ctl.add_one("Device.LocalAgent.Subscription.", {
            "ID": sub_id, "NotifType": kind, "ReferenceList": refs, "Enable": "true",
            "NotifRetry": "true" if retry else "false", "Persistent": "true" if persistent else "false"})
        self.addCleanup(self.admin.request, "delete", path)
        return path

    def wait_for(self, sub_id, what):
        m = self.ctl.wait_notify(lambda m, n: n.subscription_id == sub_id, what=what + " Notify for " + sub_id)
        self.assertEqual(m.header.msg_type, pb().msg.Header.NOTIFY)
        return m, notify_of(m)

    def test_value_change_from_another_origin(self):
        path = self.subscribe("vc-admin", "ValueChange", "Device.DeviceInfo.FriendlyName")
        # Recipient: the Controller that created the Subscription
        self.assertEqual(self.ctl.value(path + "Recipient"), "Device.LocalAgent.Controller.1")
        self.admin.request("set", "Device.DeviceInfo.FriendlyName", "changed-by-admin")
        m, n = self.wait_for("vc-admin", "ValueChange")
        self.assertFalse(n.send_resp)
        self.assertEqual(n.WhichOneof("notification"), "value_change")
        self.assertEqual((n.value_change.param_path, n.value_change.param_value),
                         ("Device.DeviceInfo.FriendlyName", "changed-by-admin"))

    def test_value_change_of_our_own_set(self):
        self.subscribe("vc-own", "ValueChange", "Device.WiFi.SSID.*.SSID")
        self.ctl.set({"Device.WiFi.SSID.2.": {"SSID": "Own-Change"}})
        m, n = self.wait_for("vc-own", "ValueChange")
        self.assertEqual((n.value_change.param_path, n.value_change.param_value),
                         ("Device.WiFi.SSID.2.SSID", "Own-Change"))

    def test_object_creation_and_deletion(self):
        self.subscribe("oc-1", "ObjectCreation", "Device.DHCPv4.Server.Pool.")
        self.subscribe("od-1", "ObjectDeletion", "Device.DHCPv4.Server.Pool.")
        inst = self.admin.request("add", "Device.DHCPv4.Server.Pool.")[0][1]
        m, n = self.wait_for("oc-1", "ObjectCreation")
        self.assertEqual(n.WhichOneof("notification"), "obj_creation")
        self.assertEqual(n.obj_creation.obj_path, inst)
        keys = instances(self.ctl.get_instances(inst))[inst][1][inst]
        self.assertEqual(dict(n.obj_creation.unique_keys), keys)
        self.admin.request("delete", inst)
        m, n = self.wait_for("od-1", "ObjectDeletion")
        self.assertEqual(n.WhichOneof("notification"), "obj_deletion")
        self.assertEqual(n.obj_deletion.obj_path, inst)

    def test_retry_until_notify_resp(self):
        # NotifRetry: send_resp true, the same notification again until a
        # NotifyResp arrives (retry interval 1 s on this Controller)
        self.subscribe("vc-retry", "ValueChange", "Device.DeviceInfo.ProvisioningCode", retry=True)
        self.admin.request("set", "Device.DeviceInfo.ProvisioningCode", "RETRY.ME")
        m1, n1 = self.wait_for("vc-retry", "ValueChange")
        self.assertTrue(n1.send_resp)
        m2, n2 = self.wait_for("vc-retry", "retried ValueChange")
        self.assertEqual(n2.value_change.param_value, "RETRY.ME")
        self.ctl.notify_resp(m2)
        deadline = time.time() + 2.5
        while time.time() < deadline:
            try:
                m3 = self.wait_for_quietly("vc-retry", max(0.05, deadline - time.time()))
            except NoAnswer:
                break
            n3 = notify_of(m3)
            # one retry may have left before our NotifyResp arrived
            self.assertEqual(n3.value_change.param_value, "RETRY.ME")
            self.ctl.notify_resp(m3)
            self.assertLess(time.time(), deadline - 1.2, "still retrying after the NotifyResp")

    def test_no_notify_when_disabled(self):
        path = self.subscribe("vc-off", "ValueChange", "Device.DeviceInfo.HostName")
        self.ctl.set({path: {"Enable": "false"}})
        self.admin.request("set", "Device.DeviceInfo.HostName", "quiet-host")
        with self.assertRaises(NoAnswer):
            self.wait_for_quietly("vc-off", 0.7)

    def wait_for_quietly(self, sub_id, seconds):
        return self.ctl.wait_notify(lambda m, n: n.subscription_id == sub_id, timeout=seconds)


class BootEvent(AgentCase):
    """Boot! after a Reboot() that restarts duetd in place."""

    def test_boot_event_after_reboot(self):
        self.ctl.add_one("Device.LocalAgent.Subscription.", {
            "ID": "boot-1", "NotifType": "Event", "ReferenceList": "Device.Boot!", "Enable": "true",
            "NotifRetry": "true", "Persistent": "true"})
        resp = self.ctl.operate("Device.Reboot()", command_key="ck-boot")
        self.assertEqual(resp.operation_results[0].executed_command, "Device.Reboot()")
        self.agent.wait_restart(2)
        ctl = self.agent.controller()
        self.addCleanup(ctl.close)
        m = ctl.wait_notify(lambda m, n: n.subscription_id == "boot-1", timeout=TIMEOUT, what="Boot! Notify")
        n = notify_of(m)
        self.assertEqual(n.WhichOneof("notification"), "event")
        self.assertEqual((n.event.obj_path, n.event.event_name), ("Device.", "Boot!"))
        self.assertEqual(n.event.params["CommandKey"], "ck-boot")
        self.assertEqual(n.event.params["Cause"], "RemoteReboot")
        self.assertTrue(n.send_resp)
        ctl.notify_resp(m)


# ---------------------------------------------------------------------------
# ControllerTrust
# ---------------------------------------------------------------------------

class Trust(AgentCase):
    STRANGER = "proto::duet-stranger"
    LIMITED = "proto::duet-limited"
    defaults_extra = controller_lines(2, LIMITED, UNTRUSTED_ROLE)

    def setUp(self):
        super().setUp()
        self.stranger = self.agent.controller(self.STRANGER)
        self.addCleanup(self.stranger.close)

    def test_untrusted_controller_does_not_see_the_device(self):
        # R-GET.1: not readable is not present: 7026
        for path in ("Device.DeviceInfo.", "Device.DeviceInfo.Manufacturer", "Device.LocalAgent.Controller.*."):
            with self.subTest(path=path):
                code, got = get_results(self.stranger.get(path))[path]
                self.assertEqual((code, got), (7026, {}))
        r = self.stranger.get_supported_dm("Device.DeviceInfo.").req_obj_results[0]
        self.assertEqual(r.err_code, 7026)  # R-GSP.0
        self.assertEqual(len(r.supported_objs), 0)

    def test_controller_assigned_the_untrusted_role(self):
        ctl = self.agent.controller(self.LIMITED)
        self.addCleanup(ctl.close)
        path = "Device.DeviceInfo.SerialNumber"
        self.assertEqual(get_results(ctl.get(path))[path], (7026, {}))
        path = "Device.LocalAgent.ControllerTrust.Challenge."
        self.assertEqual(get_results(ctl.get(path))[path], (0, {}))

    def test_untrusted_controller_sees_what_its_role_allows(self):
        path = "Device.LocalAgent.ControllerTrust.Challenge."
        code, got = get_results(self.stranger.get(path))[path]
        self.assertEqual((code, got), (0, {}))
        r = self.stranger.get_supported_dm(path).req_obj_results[0]
        self.assertEqual(r.err_code, 0)
        self.assertIn("Device.LocalAgent.ControllerTrust.Challenge.{i}.",
                      [o.supported_obj_path for o in r.supported_objs])
        self.assertEqual(self.stranger.get_supported_proto().agent_supported_protocol_versions, "1.0,1.1,1.2,1.3,1.4")

    def test_untrusted_controller_cannot_write(self):
        before = self.admin.value("Device.DeviceInfo.FriendlyName")
        with self.assertRaises(UspError) as cm:
            self.stranger.set({"Device.DeviceInfo.": {"FriendlyName": "hijacked"}})
        e = cm.exception
        self.assertIn(7006, [e.code] + list(e.param_codes().values()), str(e))
        self.assertEqual(self.admin.value("Device.DeviceInfo.FriendlyName"), before)
        with self.assertRaises(UspError):
            self.stranger.add({"Device.LocalAgent.Controller.": {"EndpointID": self.STRANGER}})

    def test_full_access_controller_gets_everything(self):
        vals = get_values(self.ctl.get("Device."))
        self.assertEqual(vals["Device.DeviceInfo.Manufacturer"], "Duet Networks")
        self.assertEqual(vals["Device.LocalAgent.ControllerTrust.Role.1.Name"], "Full Access")
        self.assertEqual(vals["Device.LocalAgent.Controller.1.EndpointID"], CONTROLLER_ID)
        self.assertEqual(vals["Device.WiFi.AccessPoint.1.Security.KeyPassphrase"], "")  # hidden
        # the USP view (mapping/views.h): of ManagementServer only EnableCWMP
        self.assertNotIn("Device.ManagementServer.Password", vals)
        self.assertEqual(vals["Device.CWMPManagementServer.EnableCWMP"], vals["Device.ManagementServer.EnableCWMP"])
        r = self.ctl.get_supported_dm("Device.", first_level_only=True).req_obj_results[0]
        self.assertEqual(r.err_code, 0)

    def test_role_assigned_at_run_time(self):
        other = "proto::duet-promoted"
        ctl = self.agent.controller(other)
        self.addCleanup(ctl.close)
        path = "Device.DeviceInfo.ProductClass"
        self.assertEqual(get_results(ctl.get(path))[path][0], 7026)
        inst = self.admin.request("add", "Device.LocalAgent.Controller.")[0][1]
        self.addCleanup(self.admin.request, "delete", inst)
        self.admin.request("set", inst + "EndpointID", other, inst + "Enable", "true",
                           inst + "AssignedRole", FULL_ACCESS_ROLE)
        self.assertEqual(get_results(ctl.get(path))[path], (0, {"Device.DeviceInfo.": {"ProductClass": "DuetGW"}}))


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------

class Records(AgentCase):

    def setUp(self):
        super().setUp()
        self.ctl.inbox.clear()

    def send_get(self, msg_id, **rec):
        self.ctl.send_msg(get_msg(msg_id, ["Device.DeviceInfo.SerialNumber"]), **rec)

    def assert_no_answer(self, msg_id):
        self.ctl.sync()
        self.assertEqual(self.ctl.answers_to(msg_id), [])

    def test_record_for_another_endpoint_is_dropped(self):
        # R-E2E.1
        self.send_get("other-to", to_id="os::02D0E7-SOMEONE-ELSE")
        self.assert_no_answer("other-to")

    def test_record_from_our_own_id_is_dropped(self):
        # R-ARC.2
        self.send_get("self-from", from_id=AGENT_ID)
        self.ctl.sync()
        self.assertEqual(self.ctl.answers_to("self-from"), [])

    def test_empty_payload_is_dropped(self):
        # R-E2E.26: no Message, nothing to answer
        self.ctl.send_record(record(b"", to_id=AGENT_ID))
        self.ctl.sync()
        self.assertEqual([r for r in self.ctl.inbox if record_kind(r) == "no_session_context"], [])

    def test_session_context_gets_a_disconnect(self):
        # R-E2E.6a: DisconnectRecord with 7106; the connection stays usable
        payload = get_msg("in-session", ["Device.DeviceInfo."]).SerializeToString()
        self.ctl.send_record(record(payload, kind="session", session_id=7, sequence_id=1, expected_id=1))
        r = self.ctl.wait_record(lambda r: record_kind(r) == "disconnect", what="DisconnectRecord")
        self.assertEqual(r.disconnect.reason_code, 7106)
        self.assertNotEqual(r.disconnect.reason, "")
        self.assertEqual(self.ctl.answers_to("in-session"), [])
        self.assertEqual(self.ctl.value("Device.DeviceInfo.ProductClass"), "DuetGW")

    def test_tls12_payload_security_gets_an_error(self):
        # no E2E security: Error 7102 for the request's msg_id (R-MTP.5)
        self.send_get("tls-1", security=pb().rec.Record.TLS12)
        m = self.ctl.wait_response("tls-1")
        self.assertEqual(m.body.WhichOneof("msg_body"), "error")
        self.assertEqual(m.body.error.err_code, 7102)

    def test_version(self):
        # a newer minor version is served; garbage is an invalid Record value
        self.send_get("v15", version="1.5")
        m = self.ctl.wait_response("v15")
        self.assertEqual(m.body.WhichOneof("msg_body"), "response")
        self.send_get("vbad", version="one.four")
        m = self.ctl.wait_response("vbad")
        self.assertEqual((m.body.WhichOneof("msg_body"), m.body.error.err_code), ("error", 7104))

    def test_undecodable_message_with_a_readable_id(self):
        # R-MSG.1: a Request we cannot understand gets an Error or nothing
        msg = get_msg("odd-1", ["Device."])
        msg.body.request.ClearField("get")
        self.ctl.send_msg(msg)
        self.ctl.sync()
        for m in self.ctl.answers_to("odd-1"):
            self.assertEqual(m.body.WhichOneof("msg_body"), "error")
            self.assertIn(m.body.error.err_code, (7000, 7001, 7004))

    def test_responses_come_back_in_our_record_type(self):
        # R-MSG.0a and the Record header of every answer
        self.send_get("hdr-1")
        m = self.ctl.wait_response("hdr-1")
        self.assertEqual(m.header.msg_type, pb().msg.Header.GET_RESP)

    def test_connect_record_came_first(self):
        # R-MTP.6 / R-MTP.8: UDSConnect before anything else on a new connection
        ctl = self.agent.controller("proto::duet-fresh")
        self.addCleanup(ctl.close)
        first = ctl.recv_record()
        self.assertEqual(record_kind(first), "uds_connect")


# ---------------------------------------------------------------------------
# EndpointID and durability
# ---------------------------------------------------------------------------

class EndpointId(unittest.TestCase):
    """The default EndpointID is os::<ManufacturerOUI>-<SerialNumber>."""

    def test_default_endpoint_id(self):
        try:
            pb()
            mtp()
        except Unavailable as e:
            self.skipTest(str(e))
        agent = UspAgent(drop=("Device.LocalAgent.EndpointID", "Device.DeviceInfo.SerialNumber"),
                         defaults_extra=["Device.DeviceInfo.SerialNumber SN-DEFAULT-7"])
        self.addCleanup(agent.cleanup)
        agent.start()
        want = "os::02D0E7-SN-DEFAULT-7"
        ctl = agent.controller()
        self.addCleanup(ctl.close)
        self.assertEqual(ctl.t.peer_id, want)  # the Handshake
        first = ctl.recv_record()
        self.assertEqual(first.from_id, want)
        self.assertEqual(ctl.value("Device.LocalAgent.EndpointID"), want)
        a = agent.admin()
        self.addCleanup(a.close)
        self.assertEqual(a.value("Device.LocalAgent.EndpointID"), want)
        # the factory ID of the other defaults is not ours
        ctl.send_msg(get_msg("old-id", ["Device."]), to_id=AGENT_ID)
        ctl.sync()
        self.assertEqual(ctl.answers_to("old-id"), [])


class Durability(unittest.TestCase):

    def test_set_acknowledged_over_usp_survives_kill9(self):
        try:
            pb()
            mtp()
        except Unavailable as e:
            self.skipTest(str(e))
        agent = UspAgent()
        self.addCleanup(agent.cleanup)
        agent.start()
        ctl = agent.controller()
        acked = [0]
        stop = threading.Event()

        def killer():
            time.sleep(random.uniform(0.3, 0.8))
            agent.proc.send_signal(signal.SIGKILL)
            stop.set()

        threading.Thread(target=killer).start()
        i = 0
        try:
            while not stop.is_set():
                i += 1
                ctl.set({"Device.DeviceInfo.": {"ProvisioningCode": "usp-%d" % i, "FriendlyName": "name-%d" % i}})
                acked[0] = i
        except Exception:
            pass  # the connection went with the process
        ctl.close()
        agent.proc.wait()
        self.assertGreater(acked[0], 5, "too few Sets before the kill")
        agent.start()
        ctl = agent.controller()
        self.addCleanup(ctl.close)
        vals = get_values(ctl.get("Device.DeviceInfo.ProvisioningCode", "Device.DeviceInfo.FriendlyName"))
        code = vals["Device.DeviceInfo.ProvisioningCode"]
        self.assertIn(code, ("usp-%d" % acked[0], "usp-%d" % (acked[0] + 1)))
        self.assertEqual(code.split("-")[1], vals["Device.DeviceInfo.FriendlyName"].split("-")[1])
        print("%d Sets acknowledged over USP, the last one present after kill -9" % acked[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
