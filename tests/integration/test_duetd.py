"""Integration tests: the real duetd, driven through its admin socket and the
real duetctl. Covers reads and writes, atomicity, persistence, kill -9
durability, clean shutdown, Reboot()/FactoryReset() in place, bad schema,
foreign and busy stores, offline duetctl and schema-stats."""
import json
import os
import random
import re
import signal
import subprocess
import sys
import shutil
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from duet_harness import (Agent, AdminError, DUETD, SCHEMA, DEFAULTS, SHARED,  # noqa: E402
                          duetctl)


class Running(unittest.TestCase):
    """Tests against one agent per test."""

    def setUp(self):
        self.agent = Agent().start()
        self.a = self.agent.admin()

    def tearDown(self):
        self.a.close()
        self.agent.cleanup()

    def test_factory_defaults_give_a_believable_device(self):
        info = self.a.get("Device.DeviceInfo.")
        self.assertEqual(info["Device.DeviceInfo.Manufacturer"], "Duet Networks")
        self.assertRegex(info["Device.DeviceInfo.ManufacturerOUI"], r"^[0-9A-F]{6}$")
        for p in ("ProductClass", "SerialNumber", "HardwareVersion", "SoftwareVersion"):
            self.assertNotEqual(info["Device.DeviceInfo." + p], "", p)
        self.assertRegex(info["Device.DeviceInfo.UpTime"], r"^[0-9]+$")

    def test_duetctl_reads_and_writes(self):
        s = self.agent.sock
        p = duetctl("--admin", s, "get", "Device.DeviceInfo.Manufacturer")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), 'Device.DeviceInfo.Manufacturer "Duet Networks"')
        p = duetctl("--admin", s, "set", "Device.DeviceInfo.ProvisioningCode", "LAB.7")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.a.value("Device.DeviceInfo.ProvisioningCode"), "LAB.7")
        p = duetctl("--admin", s, "add", "Device.LocalAgent.Controller.")
        self.assertEqual(p.returncode, 0, p.stderr)
        path = p.stdout.strip()
        self.assertRegex(path, r"^Device\.LocalAgent\.Controller\.[0-9]+\.$")
        self.assertEqual(self.a.value(path + "Alias"), "cpe-" + path.split(".")[-2])
        p = duetctl("--admin", s, "delete", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(path + "Alias", self.a.get("Device.LocalAgent.Controller.*.Alias"))

    def test_duetctl_errors_are_explained(self):
        p = duetctl("--admin", self.agent.sock, "set", "Device.DeviceInfo.Manufacturer", "x")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Device.DeviceInfo.Manufacturer", p.stderr)
        self.assertIn("read-only", p.stderr)
        p = duetctl("--admin", self.agent.sock, "--json", "get", "Device.Nope.")
        self.assertEqual(p.returncode, 1)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["error"]["code"], -3)

    def test_duetctl_schema_dump(self):
        p = duetctl("--admin", self.agent.sock, "schema", "Device.LocalAgent.Controller.")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "Device.LocalAgent.Controller.{i}. object table readWrite")
        self.assertIn("Device.LocalAgent.Controller.{i}.EndpointID parameter string readWrite", lines)
        p = duetctl("--admin", self.agent.sock, "schema", "Device.Reboot()")
        self.assertEqual(p.stdout.strip(), "Device.Reboot() command sync -")

    def test_duetctl_json(self):
        p = duetctl("--admin", self.agent.sock, "--json", "get", "Device.DeviceInfo.SerialNumber",
                    "Device.DeviceInfo.ProductClass")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["Device.DeviceInfo.ProductClass"], "DuetGW")
        self.assertIn("Device.DeviceInfo.SerialNumber", doc)

    def test_set_is_all_or_nothing(self):
        before = self.a.value("Device.DeviceInfo.ProvisioningCode")
        with self.assertRaises(AdminError) as cm:
            self.a.request("set", "Device.DeviceInfo.ProvisioningCode", "NEW",
                           "Device.ManagementServer.PeriodicInformInterval", "not-a-number")
        self.assertEqual(cm.exception.code, -7)
        self.assertIn("PeriodicInformInterval", cm.exception.message)
        self.assertEqual(self.a.value("Device.DeviceInfo.ProvisioningCode"), before)

    def test_path_expressions(self):
        got = self.a.get('Device.IP.Interface.[Name=="lo"].Stats.BytesReceived')
        self.assertEqual(list(got), ["Device.IP.Interface.1.Stats.BytesReceived"])
        self.assertRegex(got["Device.IP.Interface.1.Stats.BytesReceived"], r"^[0-9]+$")
        got = self.a.get("Device.WiFi.SSID.*.Name")
        self.assertGreaterEqual(len(got), 2)
        with self.assertRaises(AdminError) as cm:
            self.a.get("Device.IP.Interface.99.Name")
        self.assertEqual(cm.exception.code, -4)
        with self.assertRaises(AdminError) as cm:
            self.a.get("Device.IP.Interface.[Name==lo")
        self.assertEqual(cm.exception.code, -2)

    def test_numbers_of_entries_follow_the_tables(self):
        n = int(self.a.value("Device.LocalAgent.ControllerNumberOfEntries"))
        self.a.request("add", "Device.LocalAgent.Controller.")
        self.assertEqual(int(self.a.value("Device.LocalAgent.ControllerNumberOfEntries")), n + 1)


class VariantNamesInDefaults(unittest.TestCase):
    """The factory-defaults file may use either TR-181 variant's name for a
    bridge subtree; each lands in the one stored value."""

    def test_both_variants_names_land_in_the_native_subtree(self):
        tmp = tempfile.mkdtemp(prefix="duet-it-defaults-")
        path = os.path.join(tmp, "defaults.txt")
        with open(DEFAULTS) as src, open(path, "w") as out:
            for line in src:
                if not line.startswith(("Device.ManagementServer.EnableCWMP ",
                                        "Device.LocalAgent.Controller.1.")):
                    out.write(line)
            out.write("Device.CWMPManagementServer.EnableCWMP false\n")
            out.write("Device.USPAgent.Controller.7.EndpointID proto::from-the-cwmp-name\n")
        agent = Agent(defaults=path).start()
        try:
            a = agent.admin()
            self.assertEqual(a.value("Device.ManagementServer.EnableCWMP"), "false")
            self.assertEqual(a.value("Device.LocalAgent.Controller.7.EndpointID"),
                             "proto::from-the-cwmp-name")
            a.close()
        finally:
            agent.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


class Lifecycle(unittest.TestCase):
    """Tests that stop, kill and restart the agent."""

    def setUp(self):
        self.agent = Agent()

    def tearDown(self):
        self.agent.cleanup()

    def test_sigterm_is_clean_and_values_persist(self):
        self.agent.start()
        a = self.agent.admin()
        a.request("set", "Device.DeviceInfo.ProvisioningCode", "KEEP.ME")
        a.close()
        t0 = time.time()
        self.assertEqual(self.agent.stop(signal.SIGTERM), 0)
        print("shutdown took %.1f ms" % ((time.time() - t0) * 1000))
        self.assertFalse(os.path.exists(self.agent.sock), "admin socket left behind")
        self.agent.start()
        b = self.agent.admin()
        self.assertEqual(b.value("Device.DeviceInfo.ProvisioningCode"), "KEEP.ME")
        b.close()

    def test_kill9_loses_no_acknowledged_write(self):
        self.agent.start()
        a = self.agent.admin()
        acked_value = [None]
        acked_paths = []
        stop = threading.Event()

        def killer():
            time.sleep(random.uniform(0.3, 0.8))
            self.agent.proc.send_signal(signal.SIGKILL)
            stop.set()

        threading.Thread(target=killer).start()
        i = 0
        try:
            while not stop.is_set():
                i += 1
                a.request("set", "Device.DeviceInfo.ProvisioningCode", "seq-%d" % i,
                          "Device.DeviceInfo.FriendlyName", "name-%d" % i)
                acked_value[0] = i
                if i % 5 == 0:
                    rows = a.request("add", "Device.LocalAgent.Controller.")
                    path = rows[0][1]
                    a.request("set", path + "EndpointID", "proto::c%d" % i)
                    acked_paths.append((path, "proto::c%d" % i))
        except (ConnectionError, OSError):
            pass
        self.agent.proc.wait()
        self.assertGreater(acked_value[0] or 0, 10, "too few writes before the kill")
        self.agent.start()
        b = self.agent.admin()
        code = b.value("Device.DeviceInfo.ProvisioningCode")
        name = b.value("Device.DeviceInfo.FriendlyName")
        last = acked_value[0]
        # the write in flight at the kill may or may not have landed, but
        # never half of it
        self.assertIn(code, ("seq-%d" % last, "seq-%d" % (last + 1)))
        self.assertEqual(code.split("-")[1], name.split("-")[1])
        for path, endpoint in acked_paths:
            self.assertEqual(b.value(path + "EndpointID"), endpoint)
        a.close()
        b.close()
        print("%d acknowledged transactions, all present after kill -9" % last)

    def test_reboot_restarts_in_place(self):
        self.agent.start()
        a = self.agent.admin()
        a.request("set", "Device.DeviceInfo.ProvisioningCode", "BEFORE.REBOOT")
        a.request("operate", "Device.Reboot()")
        a.close()
        deadline = time.time() + 10
        while time.time() < deadline and self.agent.read_log().count("ready in") < 2:
            time.sleep(0.02)
        self.assertEqual(self.agent.read_log().count("ready in"), 2, self.agent.read_log())
        self.agent.wait_ready()
        b = self.agent.admin()
        self.assertEqual(b.value("Device.DeviceInfo.ProvisioningCode"), "BEFORE.REBOOT")
        b.close()

    def test_factory_reset_restores_defaults_and_keeps_counters(self):
        self.agent.start()
        a = self.agent.admin()
        default = a.value("Device.DeviceInfo.ProvisioningCode")
        a.request("set", "Device.DeviceInfo.ProvisioningCode", "CUSTOM")
        inst = int(a.request("add", "Device.LocalAgent.Controller.")[0][1].split(".")[-2])
        a.request("operate", "Device.FactoryReset()")
        a.close()
        deadline = time.time() + 10
        while time.time() < deadline and self.agent.read_log().count("ready in") < 2:
            time.sleep(0.02)
        self.agent.wait_ready()
        b = self.agent.admin()
        self.assertEqual(b.value("Device.DeviceInfo.ProvisioningCode"), default)
        after = int(b.request("add", "Device.LocalAgent.Controller.")[0][1].split(".")[-2])
        self.assertGreater(after, inst, "instance number reused after factory reset")
        b.close()

    def test_reboot_hook_runs_instead_of_a_restart(self):
        marker = os.path.join(self.agent.tmp, "rebooted")
        self.agent.extra = ["--reboot-hook", "echo platform-reboot > '%s'" % marker]
        self.agent.start()
        a = self.agent.admin()
        a.request("operate", "Device.Reboot()")
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(marker):
            time.sleep(0.02)
        with open(marker) as f:
            self.assertEqual(f.read(), "platform-reboot\n")
        self.assertEqual(a.request("ping"), [])  # still the same process
        a.close()
        self.assertEqual(self.agent.read_log().count("ready in"), 1)

    def test_busy_store_is_refused(self):
        self.agent.start()
        second = Agent(state=self.agent.state)
        try:
            second.start(wait=False)
            rc = second.proc.wait(10)
            self.assertEqual(rc, 1)
            self.assertIn("in use", second.read_log())
        finally:
            second.cleanup()

    def test_offline_duetctl_reads_a_stopped_store(self):
        self.agent.start()
        a = self.agent.admin()
        a.request("set", "Device.DeviceInfo.ProvisioningCode", "OFFLINE")
        a.close()
        self.agent.stop()
        p = duetctl("--state", self.agent.state, "--schema", SCHEMA, "get",
                    "Device.DeviceInfo.ProvisioningCode")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "Device.DeviceInfo.ProvisioningCode OFFLINE")

    def test_offline_duetctl_takes_both_variants_names(self):
        """Without an agent duetctl uses the same union view: the CWMP
        variant's Device.USPAgent. and the USP variant's
        Device.CWMPManagementServer. are the stored LocalAgent and
        ManagementServer values."""
        self.agent.start()
        self.agent.stop()
        st = ("--state", self.agent.state, "--schema", SCHEMA)
        p = duetctl(*st, "set", "Device.CWMPManagementServer.EnableCWMP", "false")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = duetctl(*st, "get", "Device.ManagementServer.EnableCWMP", "Device.USPAgent.EndpointID",
                    "Device.LocalAgent.EndpointID")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.strip().split("\n")
        self.assertEqual(lines[0], "Device.ManagementServer.EnableCWMP false")
        self.assertEqual(lines[1].split(" ", 1)[1], lines[2].split(" ", 1)[1])


class BadInput(unittest.TestCase):
    def setUp(self):
        self.agent = Agent()

    def tearDown(self):
        self.agent.cleanup()

    def test_malformed_schema_stops_startup_with_file_and_line(self):
        bad = os.path.join(self.agent.tmp, "bad.xml")
        with open(bad, "w") as f:
            f.write('<?xml version="1.0"?>\n<dm:document xmlns:dm="urn:broadband-forum-org:cwmp:'
                    'datamodel-1-15">\n<model name="Device:2.19">\n<object name="Device.">\n'
                    '</model>\n')
        self.agent.schema = bad
        self.agent.start(wait=False)
        self.assertEqual(self.agent.proc.wait(10), 1)
        self.assertRegex(self.agent.read_log(), r"bad\.xml:[0-9]+:")

    def test_foreign_store_is_refused_not_reset(self):
        os.makedirs(self.agent.state)
        data = os.path.join(self.agent.state, "data.mdb")
        with open(data, "w") as f:
            f.write("somebody else's data\n")
        self.agent.start(wait=False)
        self.assertEqual(self.agent.proc.wait(10), 1)
        self.assertIn("data.mdb", self.agent.read_log())
        with open(data) as f:
            self.assertEqual(f.read(), "somebody else's data\n")

    def test_unusable_defaults_line_stops_startup(self):
        bad = os.path.join(self.agent.tmp, "defaults.txt")
        with open(bad, "w") as f:
            f.write('Device.DeviceInfo.ProvisioningCode "unterminated\n')
        self.agent.defaults = bad
        self.agent.start(wait=False)
        self.assertEqual(self.agent.proc.wait(10), 1)
        self.assertIn("defaults.txt:1:", self.agent.read_log())


class SchemaStats(unittest.TestCase):
    def check(self, name, want):
        path = os.path.join(SHARED, "bbf", name)
        if not os.path.exists(path):
            self.skipTest("%s not present (../shared/bbf missing)" % path)
        p = duetctl("schema-stats", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, want + "\n")

    def test_usp_variant(self):
        self.check("tr-181-2-19-1-usp-full.xml", "objects=822 parameters=6722 commands=179 events=53")

    def test_cwmp_variant(self):
        self.check("tr-181-2-19-1-cwmp-full.xml", "objects=873 parameters=7343 commands=0 events=0")

    def test_bundled_model_loads(self):
        p = duetctl("schema-stats", SCHEMA)
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.match(r"^objects=(\d+) parameters=(\d+) commands=(\d+) events=(\d+)\n$", p.stdout)
        self.assertTrue(m, p.stdout)
        self.assertGreater(int(m.group(2)), 500)

    def run_on_official(self, name, table):
        path = os.path.join(SHARED, "bbf", name)
        if not os.path.exists(path):
            self.skipTest("%s not present" % path)
        agent = Agent(schema=path, defaults="/dev/null")
        try:
            agent.start()
            a = agent.admin()
            rows = a.request("add", table)
            self.assertEqual(rows[0][1], table + "1.")
            a.request("set", table + "1.Enable", "1")
            self.assertEqual(a.value(table + "1.Enable"), "true")
            a.close()
        finally:
            agent.cleanup()

    def test_agent_runs_on_the_official_usp_file(self):
        self.run_on_official("tr-181-2-19-1-usp-full.xml", "Device.IP.Interface.")

    def test_agent_runs_on_the_official_cwmp_file(self):
        self.run_on_official("tr-181-2-19-1-cwmp-full.xml", "Device.USPAgent.Controller.")


if __name__ == "__main__":
    unittest.main(verbosity=2)
