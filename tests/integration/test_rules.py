"""Rules of mapping/ end to end, on the real duetd served at once to the
test ACS and the test Controller (set-up: ab_trial.py).

What is checked (docs: ../shared/notes/cwmp-usp-mapping.md 6.6, 11, 13
and 15):
  - Device.ScheduleTimer() (mapping/timers.c): OperationComplete after
    DelaySeconds to the Controller and no session for the ACS (C19); a
    bad DelaySeconds refused with 7027; a timer running when the agent
    restarts completes after the restart at its due time (TR-181: it MUST
    persist across a reboot);
  - one-variant objects (mapping/views.c, C14): the Controller's schema
    and Get hold no CWMP-only diagnostics objects while the IPPing()
    command stays; the ACS's GetParameterNames of Device. lists no
    USP-only objects;
  - Alias (mapping/alias.c, C11): writable for the ACS, write-once for
    Controllers, unique in both views, an ACS rename notified to a
    Controller's ValueChange subscription, and the "freeze aliases"
    migration policy refusing an ACS rename with 9008;
  - notification rules across the sides: a flap is two Notifies and the
    latest value for the ACS (C2); partial-path attributes do not reach
    rows added later (C18);
  - command-style parameters (mapping/cmdparams.c, C20): the ACS's write
    runs the command after the commit and reads back false, a failed SPV
    runs nothing, Controllers have the command and not the parameter;
  - secrets (C13): a Controller holding one of ControllerTrust.SecuredRoles
    reads a secured parameter's value, another Controller and the ACS read
    "".
"""
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_trial import AbCase, cw, uc  # noqa: E402
from duet_harness import duetctl  # noqa: E402

TIMER = "Device.ScheduleTimer()"


# ---------------------------------------------------------------------------
# 1. Device.ScheduleTimer()
# ---------------------------------------------------------------------------

class ScheduleTimer(AbCase):

    def test_operation_complete_after_the_delay_and_nothing_for_the_acs(self):
        self.subscribe("timer-oc", "OperationComplete", TIMER)
        mark = self.acs.mark()
        t0 = time.time()
        r = self.ctl.operate(TIMER, command_key="ck-timer", args={"DelaySeconds": "2"}).operation_results[0]
        self.assertEqual(r.WhichOneof("operation_resp"), "req_obj_path", r)
        m, n = self.wait_notify("timer-oc", "OperationComplete")
        self.assertGreaterEqual(time.time() - t0, 1.9)
        oc = n.oper_complete
        self.assertEqual((oc.command_name, oc.command_key), ("ScheduleTimer()", "ck-timer"))
        self.assertEqual(oc.WhichOneof("operation_resp"), "req_output_args", oc)
        # C19: the Controller's timer is no SCHEDULED contact of the ACS
        time.sleep(0.5)
        self.assertEqual(self.acs.sessions_since(mark), [])

    def test_bad_delay_is_refused(self):
        for delay in ("0", "-1", "soon"):
            r = self.ctl.operate(TIMER, args={"DelaySeconds": delay}).operation_results[0]
            self.assertEqual(r.WhichOneof("operation_resp"), "cmd_failure", r)
            self.assertEqual(r.cmd_failure.err_code, 7027, delay)
        r = self.ctl.operate(TIMER).operation_results[0]
        self.assertEqual(r.cmd_failure.err_code, 7027)

    def test_timer_survives_a_restart(self):
        self.subscribe("timer-boot", "OperationComplete", TIMER, retry=True, persistent=True)
        self.note_starts()
        t0 = time.time()
        self.ctl.operate(TIMER, command_key="ck-reboot", args={"DelaySeconds": "4"})
        self.ctl.operate("Device.Reboot()", command_key="rb-timer")
        self.wait_restarted()
        ctl = self.reconnect()
        m, n = self.wait_notify("timer-boot", "OperationComplete", ctl=ctl, timeout=15)
        self.assertGreaterEqual(time.time() - t0, 3.9, "fired before its due time")
        oc = n.oper_complete
        self.assertEqual((oc.command_name, oc.command_key), ("ScheduleTimer()", "ck-reboot"))
        self.assertEqual(oc.WhichOneof("operation_resp"), "req_output_args", oc)
        ctl.notify_resp(m)


# ---------------------------------------------------------------------------
# 2. Objects of one variant only (C14)
# ---------------------------------------------------------------------------

PING = "Device.IP.Diagnostics.IPPing."
DIAG = "Device.IP.Diagnostics."
AUTH = "Device.IP.Diagnostics.IPLayerCapacityAuthCode."


class VariantOnlyObjects(AbCase):

    def test_controller_schema_has_the_commands_not_the_cwmp_objects(self):
        r = self.ctl.get_supported_dm(DIAG, first_level_only=False).req_obj_results[0]
        self.assertEqual(r.err_code, 0)
        objs = {o.supported_obj_path: o for o in r.supported_objs}
        self.assertNotIn(PING, objs)
        self.assertNotIn(DIAG + "DownloadDiagnostics.", objs)
        self.assertIn(AUTH + "{i}.", objs, "the USP variant's own table is the Controller's")
        cmds = [c.command_name for c in objs[DIAG].supported_commands]
        self.assertIn("IPPing()", cmds)
        self.assertIn("DownloadDiagnostics()", cmds)
        self.assertEqual(self.ctl.get_supported_dm(PING).req_obj_results[0].err_code, 7026)

    def test_controller_get_has_no_cwmp_objects(self):
        values = uc.get_values(self.ctl.get("Device."))
        self.assertEqual([p for p in values if p.startswith((PING, DIAG + "DownloadDiagnostics."))], [])
        r = self.ctl.get(PING + "Host").req_path_results[0]
        self.assertEqual(r.err_code, 7026)
        # the command of the same name still runs
        r = self.ctl.operate("Device.IP.Diagnostics.IPPing()", args={"Host": ""}).operation_results[0]
        self.assertEqual(r.WhichOneof("operation_resp"), "cmd_failure")
        self.assertNotEqual(r.cmd_failure.err_code, 7026, r)

    def test_acs_names_have_no_usp_only_objects(self):
        s = self.session(cw.gpn("Device.", False), cw.gpv(PING + "Host"), cw.gpv(AUTH))
        names = self.answered(s, "GetParameterNames").names()
        self.assertIn(PING + "Host", names, "the ACS's own diagnostics object")
        self.assertEqual([n for n in names if n.startswith(AUTH)], [])
        answers = [a for r, a in s.exchanges if r.method == "GetParameterValues"]
        self.assertEqual([a.fault and a.fault.code for a in answers], [None, 9005])


# ---------------------------------------------------------------------------
# 3. Alias (C11)
# ---------------------------------------------------------------------------

POOL = "Device.DHCPv4.Server.Pool."


class Alias(AbCase):

    def acs_rename(self, inst, alias, key):
        return self.session(cw.spv([(inst + "Alias", alias)], key))

    def test_acs_renames_and_the_controller_hears_it(self):
        inst = self.ctl.add_one(POOL, {"Alias": "ctl-pool"})
        self.subscribe("vc-alias", "ValueChange", inst + "Alias")
        s = self.acs_rename(inst, "acs-pool", "al-1")
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        m, n = self.wait_notify("vc-alias", "ValueChange")
        self.assertEqual((n.value_change.param_path, n.value_change.param_value), (inst + "Alias", "acs-pool"))
        s = self.acs_rename(inst, "acs-pool-2", "al-2")
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.assertEqual(self.ctl.value(inst + "Alias"), "acs-pool-2")
        # the Controller's address by the new Alias works at once
        r = self.ctl.get(POOL + '[Alias=="acs-pool-2"].Alias').req_path_results[0]
        self.assertEqual(r.err_code, 0)
        self.assertEqual(len(r.resolved_path_results), 1)
        # and the ACS's GetParameterNames says what the CWMP variant says:
        # Alias is writable for it
        s = self.session(cw.gpn(inst, True))
        names = self.answered(s, "GetParameterNames").names()
        self.assertIs(names.get(inst + "Alias"), True, names)

    def test_controller_sets_alias_once(self):
        chosen = self.ctl.add_one(POOL, {"Alias": "mine"})
        with self.assertRaises(uc.UspError) as cm:
            self.ctl.set({chosen: {"Alias": "mine-again"}})
        self.assertEqual(cm.exception.param_codes(), {chosen + "Alias": 7013})
        agents = self.ctl.add_one(POOL, {})
        self.assertTrue(self.ctl.value(agents + "Alias").startswith("cpe-"))
        self.ctl.set({agents: {"Alias": "named-later"}})
        with self.assertRaises(uc.UspError) as cm:
            self.ctl.set({agents: {"Alias": "named-twice"}})
        self.assertEqual(cm.exception.param_codes(), {agents + "Alias": 7013})
        self.assertEqual(self.ctl.value(agents + "Alias"), "named-later")

    def test_alias_is_unique_for_both(self):
        first = self.ctl.add_one(POOL, {"Alias": "taken"})
        second = self.ctl.add_one(POOL, {})
        with self.assertRaises(uc.UspError) as cm:
            self.ctl.set({second: {"Alias": "taken"}})
        self.assertIn(7025, [cm.exception.code] + list(cm.exception.param_codes().values()), cm.exception)
        s = self.acs_rename(second, "taken", "al-dup")
        ans = s.answer("SetParameterValues")
        self.assertEqual(ans.kind, "Fault")
        self.assertEqual([(n, c) for n, c, _ in ans.fault.spv], [(second + "Alias", 9007)])
        self.assertEqual(self.ctl.value(first + "Alias"), "taken")

    def test_freeze_policy_refuses_the_acs_rename(self):
        inst = self.ctl.add_one(POOL, {"Alias": "kept"})
        p = duetctl("--admin", self.agent.sock, "aliases", "freeze")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = duetctl("--admin", self.agent.sock, "aliases")
        self.assertIn("frozen", p.stdout)
        s = self.acs_rename(inst, "renamed", "al-frz")
        ans = s.answer("SetParameterValues")
        self.assertEqual(ans.kind, "Fault")
        self.assertEqual(ans.fault.code, 9003)
        self.assertEqual([(n, c) for n, c, _ in ans.fault.spv], [(inst + "Alias", 9008)])
        self.assertEqual(self.ctl.value(inst + "Alias"), "kept")
        self.assertEqual(duetctl("--admin", self.agent.sock, "aliases", "thaw").returncode, 0)
        s = self.acs_rename(inst, "renamed", "al-thaw")
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")


# ---------------------------------------------------------------------------
# 4. Notification rules across the two sides (C2, C18)
# ---------------------------------------------------------------------------

HOST = "Device.DeviceInfo.HostName"


class NotificationRules(AbCase):

    def bootstrap_script(self):
        return (cw.spa([(HOST, 2, None)]),)

    def test_a_flap_is_two_notifies_and_the_latest_value_for_the_acs(self):
        # C2: USP reports each transition; CWMP reports the latest value
        self.subscribe("vc-flap", "ValueChange", HOST)
        mark = self.acs.mark()
        self.ctl.set({"Device.DeviceInfo.": {"HostName": "flap-a"}})
        self.ctl.set({"Device.DeviceInfo.": {"HostName": "flap-b"}})
        seen = []
        for _ in range(2):
            m, n = self.wait_notify("vc-flap", "ValueChange")
            seen.append(n.value_change.param_value)
        self.assertEqual(seen, ["flap-a", "flap-b"])
        self.acs.wait_session(lambda s: s.params.get(HOST) == "flap-b", since=mark)
        last = [x.params[HOST] for x in self.acs.sessions_since(mark) if HOST in x.params][-1]
        self.assertEqual(last, "flap-b")

    def test_partial_path_attributes_leave_later_rows_alone(self):
        # C18: attributes set through a partial path apply to the
        # parameters that exist then, not to rows a Controller adds later
        old = self.ctl.add_one(POOL, {"MinAddress": "10.9.0.1"})
        self.answered(self.session(cw.spa([(old, 2, None)])), "SetParameterAttributes")
        new = self.ctl.add_one(POOL, {"MinAddress": "10.9.1.1"})
        mark = self.acs.mark()
        self.ctl.set({new: {"MinAddress": "10.9.1.2"}})
        self.ctl.set({old: {"MinAddress": "10.9.0.2"}})
        s = self.acs.wait_session(lambda s: s.params.get(old + "MinAddress") == "10.9.0.2", since=mark)
        for x in self.acs.sessions_since(mark):
            self.assertNotIn(new + "MinAddress", x.params, "a later row inherited the attributes")
        self.assertTrue(s.has("4 VALUE CHANGE"))


# ---------------------------------------------------------------------------
# 5. Command-style parameters (C20)
# ---------------------------------------------------------------------------

STATS = "Device.DHCPv4.Server.Stats."
RAN = "Device.DHCPv4.Server.Stats.Reset(), asked through its parameter"


class CommandParameters(AbCase):

    def test_acs_write_runs_the_command_after_the_commit(self):
        s = self.session(cw.spv([(STATS + "Reset", "true", "xsd:boolean")], "cp-1"), cw.gpv(STATS + "Reset"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.assertEqual(self.answered(s, "GetParameterValues").values(), {STATS + "Reset": "false"})
        # the bundled device has no handler for it yet: the run is logged
        deadline = time.time() + 5
        while RAN not in self.agent.read_log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn(RAN, self.agent.read_log())

    def test_failed_spv_runs_nothing(self):
        s = self.session(cw.spv([(STATS + "Reset", "true", "xsd:boolean"),
                                 ("Device.DHCPv4.Server.Enable", "maybe", "xsd:boolean")], "cp-2"))
        self.assertEqual(s.answer("SetParameterValues").kind, "Fault")
        time.sleep(0.5)
        self.assertNotIn(RAN, self.agent.read_log())

    def test_controller_has_the_command_not_the_parameter(self):
        r = self.ctl.get_supported_dm(STATS).req_obj_results[0]
        obj = [o for o in r.supported_objs if o.supported_obj_path == STATS][0]
        self.assertNotIn("Reset", [p.param_name for p in obj.supported_params])
        self.assertIn("Reset()", [c.command_name for c in obj.supported_commands])
        self.assertEqual(self.ctl.get(STATS + "Reset").req_path_results[0].err_code, 7026)
        self.assertNotIn(STATS + "Reset", uc.get_values(self.ctl.get(STATS)))


# ---------------------------------------------------------------------------
# 6. Secrets (C13)
# ---------------------------------------------------------------------------

SECRET = "Device.WiFi.AccessPoint.1.Security.KeyPassphrase"
OPERATOR = "proto::duet-operator"


class Secrets(AbCase):
    """Role.1 (the test Controller's) is a SecuredRole; Role.4 gives the
    operator Controller full access without it."""

    defaults_extra = AbCase.defaults_extra + (
        "Device.LocalAgent.ControllerTrust.SecuredRoles Device.LocalAgent.ControllerTrust.Role.1",
        "Device.LocalAgent.ControllerTrust.Role.4.Enable true",
        "Device.LocalAgent.ControllerTrust.Role.4.Name Operator",
        "Device.LocalAgent.ControllerTrust.Role.4.Permission.1.Enable true",
        "Device.LocalAgent.ControllerTrust.Role.4.Permission.1.Order 1",
        "Device.LocalAgent.ControllerTrust.Role.4.Permission.1.Targets Device.",
        "Device.LocalAgent.ControllerTrust.Role.4.Permission.1.Param rwxn",
        "Device.LocalAgent.ControllerTrust.Role.4.Permission.1.Obj rwxn",
        "Device.LocalAgent.ControllerTrust.Role.4.Permission.1.InstantiatedObj rwxn",
        "Device.LocalAgent.ControllerTrust.Role.4.Permission.1.CommandEvent rwxn",
        "Device.LocalAgent.Controller.2.EndpointID " + OPERATOR,
        "Device.LocalAgent.Controller.2.Enable true",
        "Device.LocalAgent.Controller.2.AssignedRole Device.LocalAgent.ControllerTrust.Role.4")

    def test_only_a_secured_role_reads_the_secret(self):
        self.assertEqual(self.ctl.value(SECRET), "duet-demo-2g-key")
        got = uc.get_values(self.ctl.get("Device.WiFi.AccessPoint.1.Security."))
        self.assertEqual(got[SECRET], "duet-demo-2g-key")
        ops = self.agent.controller(endpoint_id=OPERATOR)
        self.controllers.append(ops)
        self.assertEqual(ops.value(SECRET), "")
        self.assertEqual(self.acs_values(SECRET), {SECRET: ""})
        # a search on the secret finds the row only for whoever may read it
        search = 'Device.WiFi.AccessPoint.[Security.KeyPassphrase=="duet-demo-2g-key"].Enable'
        self.assertEqual(len(self.ctl.get(search).req_path_results[0].resolved_path_results), 1)
        self.assertEqual(len(ops.get(search).req_path_results[0].resolved_path_results), 0)

    def test_value_change_of_a_secret(self):
        """The Notify carries the secret to a SecuredRoles holder only."""
        self.subscribe("vc-secret", "ValueChange", SECRET)
        ops = self.agent.controller(endpoint_id=OPERATOR)
        self.controllers.append(ops)
        self.subscribe("vc-secret-ops", "ValueChange", SECRET, ctl=ops)
        self.session(cw.spv([(SECRET, "acs-set-key-1")], "sec-1"))
        m, n = self.wait_notify("vc-secret", "ValueChange")
        self.assertEqual(n.value_change.param_value, "acs-set-key-1")
        m, n = self.wait_notify("vc-secret-ops", "ValueChange", ctl=ops)
        self.assertEqual(n.value_change.param_value, "")

    def test_secured_roles_follow_the_configuration(self):
        self.ctl.set({"Device.LocalAgent.ControllerTrust.": {"SecuredRoles": ""}})
        self.assertEqual(self.ctl.value(SECRET), "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
