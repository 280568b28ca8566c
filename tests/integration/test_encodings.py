"""Value encodings both ways, end to end: the real duetd served at once to
the test ACS and the test Controller (set-up: ab_trial.py). A value
written with the ACS's SetParameterValues reads the same through the
Controller's Get, and the other way round; the ACS's GetParameterValues
carries the type of the schema as xsi:type; values outside a range are
refused by both, with each protocol's code.

Covered (notes/cwmp-usp-mapping.md section 12, TR-106 lexical forms):
boolean (true/false/1/0, stored and shown as true/false), dateTime (UTC,
fractions, an offset turned into Z, TR-106's Unknown Time
0001-01-01T00:00:00Z and the "infinite" 9999-12-31T23:59:59Z), base64 (xsi:type xsd:base64Binary: XML Schema has no "base64"),
hexBinary (either case in, one case out), comma-separated lists, strings
with XML's special characters and non-ASCII UTF-8,
unsignedInt and int at the ends of their ranges and past them, and the
unsignedLong counters the agent keeps.
"""
import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_trial import AbCase, cw, uc  # noqa: E402

POOL = "Device.DHCPv4.Server.Pool."
CHALLENGE_ACS = "Device.USPAgent.ControllerTrust.Challenge."
CHALLENGE_CTL = "Device.LocalAgent.ControllerTrust.Challenge."

# (parameter below the instance, xsi:type, value written, value read back)
POOL_ROWS = [
    ("Enable", "xsd:boolean", "1", "true"),
    ("Enable", "xsd:boolean", "0", "false"),
    ("Enable", "xsd:boolean", "true", "true"),
    ("ClientID", "xsd:hexBinary", "0A1B2c3D", "0a1b2c3d"),
    ("ClientID", "xsd:hexBinary", "", ""),
    ("DNSServers", "xsd:string", "10.0.0.1,10.0.0.2", "10.0.0.1,10.0.0.2"),
    ("DSCPMark", "xsd:unsignedInt", "0", "0"),
    ("DSCPMark", "xsd:unsignedInt", "63", "63"),
    ("LeaseTime", "xsd:int", "-1", "-1"),
    ("LeaseTime", "xsd:int", "2147483647", "2147483647"),
]

# (value written, value read back) for a dateTime parameter
TIMES = [
    ("2026-11-25T12:34:56Z", "2026-11-25T12:34:56Z"),
    ("2026-11-25T12:34:56.25Z", "2026-11-25T12:34:56.25Z"),
    ("2026-11-25T13:34:56+01:00", "2026-11-25T12:34:56Z"),
    ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
]

# (parameter, xsi:type, value) that each side must refuse
OUT_OF_RANGE = [
    ("DSCPMark", "xsd:unsignedInt", "64"),
    ("DSCPMark", "xsd:unsignedInt", "-1"),
    ("LeaseTime", "xsd:int", "-2"),
    ("LeaseTime", "xsd:int", "2147483648"),
    ("Enable", "xsd:boolean", "yes"),
    ("ClientID", "xsd:hexBinary", "ABC"),
]


class Encodings(AbCase):

    def setUp(self):
        super().setUp()
        self.pool = self.ctl.add_one(POOL, {})

    def acs_set(self, *params, key="enc"):
        s = self.session(cw.spv(list(params), key))
        return s.answer("SetParameterValues")

    def acs_read(self, *names):
        s = self.session(cw.gpv(*names))
        ans = self.answered(s, "GetParameterValues")
        return ans.values(), ans.types()

    def test_acs_writes_the_controller_reads(self):
        for name, xsd, written, read in POOL_ROWS:
            path = self.pool + name
            with self.subTest(path=path, value=written):
                ans = self.acs_set((path, written, xsd))
                self.assertNotEqual(ans.kind, "Fault", ans.fault)
                self.assertEqual(self.ctl.value(path), read)
                values, types = self.acs_read(path)
                self.assertEqual((values[path], types[path]), (read, xsd))

    def test_controller_writes_the_acs_reads(self):
        for name, xsd, written, read in POOL_ROWS:
            path = self.pool + name
            with self.subTest(path=path, value=written):
                self.ctl.set({self.pool: {name: written}})
                values, types = self.acs_read(path)
                self.assertEqual((values[path], types[path]), (read, xsd))
                self.assertEqual(self.ctl.value(path), read)

    def ipv6_address(self):
        ip = self.ctl.add_one("Device.IP.Interface.", {})
        return self.ctl.add_one(ip + "IPv6Address.", {"IPAddress": "2001:db8::1"})

    def test_date_times_both_ways(self):
        addr = self.ipv6_address()
        path = addr + "PreferredLifetime"
        for written, read in TIMES:
            with self.subTest(value=written, by="acs"):
                ans = self.acs_set((path, written, "xsd:dateTime"))
                self.assertNotEqual(ans.kind, "Fault", ans.fault)
                self.assertEqual(self.ctl.value(path), read)
            with self.subTest(value=written, by="controller"):
                self.ctl.set({addr: {"PreferredLifetime": written}})
                values, types = self.acs_read(path)
                self.assertEqual((values[path], types[path]), (read, "xsd:dateTime"))

    def test_base64_both_ways(self):
        inst = self.ctl.add_one(CHALLENGE_CTL, {})
        n = inst[len(CHALLENGE_CTL):]
        acs_path, ctl_path = CHALLENGE_ACS + n + "Instruction", inst + "Instruction"
        # XML Schema's name, and Table 12's as some ACSs send it
        for value, xsd in (("ZHVldA==", "xsd:base64Binary"), ("", "xsd:base64Binary"),
                           ("AAECAwQFBgcICQ==", "xsd:base64")):
            with self.subTest(value=value):
                ans = self.acs_set((acs_path, value, xsd))
                self.assertNotEqual(ans.kind, "Fault", ans.fault)
                self.assertEqual(self.ctl.value(ctl_path), value)
                self.ctl.set({inst: {"Instruction": value}})
                values, types = self.acs_read(acs_path)
                self.assertEqual(values[acs_path], value)
                self.assertEqual(types[acs_path], "xsd:base64Binary")

    def test_out_of_range_refused_by_both(self):
        for name, xsd, value in OUT_OF_RANGE:
            path = self.pool + name
            before = self.ctl.value(path)
            with self.subTest(path=path, value=value):
                ans = self.acs_set((path, value, xsd))
                self.assertEqual(ans.kind, "Fault")
                codes = [c for _, c, _ in ans.fault.spv]
                self.assertEqual(len(codes), 1)
                self.assertIn(codes[0], (9006, 9007))
                with self.assertRaises(uc.UspError) as cm:
                    self.ctl.set({self.pool: {name: value}})
                self.assertIn(list(cm.exception.param_codes().values()), ([7011], [7012]))
                # each protocol's code for the same refusal
                self.assertEqual(codes[0] - 9006, list(cm.exception.param_codes().values())[0] - 7011)
                self.assertEqual(self.ctl.value(path), before)

    def test_strings_and_unsigned_int_ends(self):
        code = "Device.DeviceInfo.ProvisioningCode"
        mqtt = "Device.MQTT.Client.1."
        rows = [(code, "xsd:string", 'a&b<c>"\'d \u00e9\u20ac'),
                (mqtt + "SessionExpiryInterval", "xsd:unsignedInt", "4294967295"),
                (mqtt + "SessionExpiryInterval", "xsd:unsignedInt", "0")]
        for path, xsd, value in rows:
            with self.subTest(path=path, value=value):
                ans = self.acs_set((path, value, xsd))
                self.assertNotEqual(ans.kind, "Fault", ans.fault)
                self.assertEqual(self.ctl.value(path), value)
                obj, name = path.rsplit(".", 1)
                self.ctl.set({obj + ".": {name: value}})
                values, types = self.acs_read(path)
                self.assertEqual((values[path], types[path]), (value, xsd))
        ans = self.acs_set((mqtt + "SessionExpiryInterval", "4294967296", "xsd:unsignedInt"))
        self.assertEqual([c for _, c, _ in ans.fault.spv], [9007])

    def test_unsigned_long_counters_read_the_same(self):
        path = "Device.DHCPv4.Server.Stats.Discover"
        values, types = self.acs_read(path)
        self.assertEqual(types[path], "xsd:unsignedLong")
        self.assertEqual(values[path], self.ctl.value(path))


if __name__ == "__main__":
    unittest.main(verbosity=2)
