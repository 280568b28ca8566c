"""Migration control in an A/B trial, end to end: one real duetd served at
once to the test ACS and the test Controller (set-up: ab_trial.py), with
an ownership rule set through duetctl.

What is checked (docs: ../shared/notes/cwmp-usp-mapping.md section 15 C4):
  - a subtree owned by USP refuses the ACS's SetParameterValues (fault
    9003 with a 9001 entry for the parameter, nothing applied) and takes
    the Controller's Set;
  - a subtree owned by CWMP refuses the Controller's Set with 7006
    Permission denied and takes the ACS's;
  - duetctl audit shows the accepted change with its origin (usp and the
    Controller's EndpointID) and no trace of the refused one;
  - duetctl owner lists the rule; duetctl stacks shows both stacks active
    with the time each became so.
"""
import json
import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_trial import AbCase, cw, uc  # noqa: E402
from duet_harness import duetctl  # noqa: E402

HOST = "Device.DeviceInfo.HostName"
FRIENDLY = "Device.DeviceInfo.FriendlyName"


class OwnershipTrial(AbCase):

    def ctl_json(self, *args):
        p = duetctl("--admin", self.agent.sock, "--json", *args)
        self.assertEqual(p.returncode, 0, "duetctl %s: %s" % (" ".join(args), p.stderr))
        return json.loads(p.stdout)

    def own(self, prefix, owner):
        p = duetctl("--admin", self.agent.sock, "owner", prefix, owner)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_usp_owned_parameter(self):
        self.own(HOST, "usp")
        self.assertEqual(self.ctl_json("owner"), {"rules": {HOST: "usp"}})
        before = self.admin_get(HOST)

        s = self.session(cw.spv([(HOST, "acs-host")], "mig-1"))
        ans = s.answer("SetParameterValues")
        self.assertEqual(ans.kind, "Fault", "the ACS's write into a USP subtree was accepted")
        self.assertEqual(ans.fault.code, 9003, ans.fault)
        self.assertEqual([(n, c) for n, c, _ in ans.fault.spv], [(HOST, 9001)])
        self.assertEqual(self.admin_get(HOST), before)

        self.ctl.set({"Device.DeviceInfo.": {"HostName": "usp-host"}})
        self.assertEqual(self.ctl.value(HOST), "usp-host")
        self.assertEqual(self.acs_values(HOST)[HOST], "usp-host")

        entries = self.ctl_json("audit", "20")["entries"]
        self.assertTrue(entries, "the audit log is empty")
        mine = [e for e in entries if e["path"] == HOST]
        self.assertEqual(len(mine), 1, "expected only the Controller's change of %s: %s" % (HOST, mine))
        e = mine[0]
        self.assertEqual((e["origin"], e["who"], e["op"]), ("usp", uc.CONTROLLER_ID, "set"))
        self.assertEqual((e["old"], e["new"]), (before, "usp-host"))
        self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # newest first
        seqs = [x["seq"] for x in entries]
        self.assertEqual(seqs, sorted(seqs, reverse=True))

        # the text form names the origin and the change too
        p = duetctl("--admin", self.agent.sock, "audit", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("usp/%s set %s" % (uc.CONTROLLER_ID, HOST), p.stdout)

    def test_cwmp_owned_parameter(self):
        self.own(FRIENDLY, "cwmp")
        with self.assertRaises(uc.UspError) as cm:
            self.ctl.set({"Device.DeviceInfo.": {"FriendlyName": "by-usp"}})
        codes = set(cm.exception.param_codes().values()) | {cm.exception.code}
        self.assertIn(7006, codes, cm.exception)
        s = self.session(cw.spv([(FRIENDLY, "by-acs")], "mig-2"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.assertEqual(self.ctl.value(FRIENDLY), "by-acs")
        # shared again: the Controller may write it
        self.own(FRIENDLY, "shared")
        self.assertEqual(self.ctl_json("owner"), {"rules": {}})
        self.ctl.set({"Device.DeviceInfo.": {"FriendlyName": "by-usp"}})
        self.assertEqual(self.admin_get(FRIENDLY), "by-usp")

    def test_both_stacks_active(self):
        stacks = self.ctl_json("stacks")["stacks"]
        self.assertEqual(set(stacks), {"cwmp", "usp"})
        for name in ("cwmp", "usp"):
            self.assertTrue(stacks[name]["active"], "%s not active: %s" % (name, stacks))
            self.assertRegex(stacks[name]["since"] or "", r"^\d{4}-\d\d-\d\dT")


if __name__ == "__main__":
    unittest.main(verbosity=2)
