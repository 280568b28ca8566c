"""The A/B trial end to end: one real duetd served at once to the test ACS
(CWMP, cwmp_acs.py) and to the test Controller (USP over the --usp-socket,
usp_controller.py), assertions on both wires. The set-up is ab_trial.py.

What the two managers must agree on (docs: ../shared/notes/
cwmp-usp-mapping.md sections 6, 7, 8 and 15):
  - values: what one writes the other reads at once; instances one creates
    the other sees under the same number (C5, C17);
  - notifications: a Controller's Set is a VALUE CHANGE for the ACS, an
    ACS write a ValueChange for the Controller, never a VALUE CHANGE back
    to the ACS; an ACS AddObject fires ObjectCreation (C1, 5.2);
  - reboots from either side: 1 BOOT with or without M Reboot, Boot! with
    its Cause and CommandKey (6.1, C15); a Controller's Reboot() waits for
    the ACS's running session to end (C6);
  - factory resets from either side: 0 BOOTSTRAP + 1 BOOT, Boot! with
    Cause RemoteFactoryReset (6.2, C7);
  - a firmware Download by the ACS: the CWMP report after the restart,
    the new SoftwareVersion and Boot! FirmwareUpdated for the Controller,
    TransferComplete! to its subscribers (6.3);
  - retiring CWMP from USP with EnableCWMP, and the USP variant's
    Device.CWMPManagementServer.EnableCWMP as the same stored value; a
    session that writes false still ends as the ACS ends it (C12);
  - the USP view without the CWMP-only Device.ManagementServer. (C14);
  - the CWMP view's Device.USPAgent. as the stored LocalAgent (section 2):
    read, provisioned and notified by that name; duetctl takes both;
  - concurrent writes of the same parameters by both: serialised, atomic,
    one final value (C4).
"""
import os
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_trial import CR_PASS, CR_USER, FIRMWARE, AbCase, cw, is_cr, transfer_complete, uc  # noqa: E402

POOL = "Device.DHCPv4.Server.Pool."
INFO = "Device.DeviceInfo."
QUIET = 1.5  # seconds a disabled CWMP front end is watched for sessions


# ---------------------------------------------------------------------------
# 1. Same values, same instances
# ---------------------------------------------------------------------------

class SameValues(AbCase):

    def test_acs_write_is_read_by_the_controller(self):
        s = self.session(cw.spv([(INFO + "FriendlyName", "Set by ACS"), (INFO + "HostName", "acs-host")], "ab-1"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        vals = uc.get_values(self.ctl.get(INFO + "FriendlyName", INFO + "HostName"))
        self.assertEqual(vals, {INFO + "FriendlyName": "Set by ACS", INFO + "HostName": "acs-host"})

    def test_controller_write_is_read_by_the_acs(self):
        self.session(cw.spv([(INFO + "ProvisioningCode", "ACS.1")], "acs-key"))
        self.ctl.set({INFO: {"FriendlyName": "Set by Controller", "HostName": "usp-host"}})
        vals = self.acs_values(INFO + "FriendlyName", INFO + "HostName", "Device.ManagementServer.ParameterKey")
        self.assertEqual(vals[INFO + "FriendlyName"], "Set by Controller")
        self.assertEqual(vals[INFO + "HostName"], "usp-host")
        # C16: only ACS writes change the ParameterKey
        self.assertEqual(vals["Device.ManagementServer.ParameterKey"], "acs-key")

    def test_acs_add_object_is_seen_by_the_controller(self):
        s = self.session(cw.add_object(POOL, "add-1"))
        n = int(self.answered(s, "AddObject").get("InstanceNumber"))
        inst = "%s%d." % (POOL, n)
        found = uc.instances(self.ctl.get_instances(POOL, first_level_only=True))[POOL]
        self.assertEqual(found[0], 0)
        self.assertIn(inst, found[1], "the ACS's instance %d not among the Controller's" % n)
        self.session(cw.spv([(inst + "MinAddress", "10.0.0.10")], "add-2"))
        self.assertEqual(self.ctl.value(inst + "MinAddress"), "10.0.0.10")

    def test_controller_add_is_seen_by_the_acs(self):
        inst = self.ctl.add_one(POOL, {"MinAddress": "10.1.0.10", "MaxAddress": "10.1.0.20"})
        s = self.session(cw.gpn(POOL, True), cw.gpv(inst + "MinAddress", inst + "MaxAddress"))
        self.assertIn(inst, self.answered(s, "GetParameterNames").names())
        self.assertEqual(self.answered(s, "GetParameterValues").values(),
                         {inst + "MinAddress": "10.1.0.10", inst + "MaxAddress": "10.1.0.20"})

    def test_acs_alias_and_controller_unique_key_reach_one_instance(self):
        """Section 11: an instance the ACS creates by [alias] is the one a
        Controller reaches by [Alias=="..."], under the same number."""
        s = self.session(cw.add_object(POOL + "[ab-pool].", "alias-1"))
        n = int(self.answered(s, "AddObject").get("InstanceNumber"))
        self.ctl.set({POOL + '[Alias=="ab-pool"].': {"MinAddress": "10.2.0.10"}})
        s = self.session(cw.gpv(POOL + "[ab-pool].MinAddress", "%s%d.Alias" % (POOL, n)))
        vals = self.answered(s, "GetParameterValues").values()
        self.assertEqual(vals.get("%s%d.Alias" % (POOL, n)), "ab-pool", vals)
        self.assertIn("10.2.0.10", vals.values(), vals)
        got = uc.get_values(self.ctl.get(POOL + '[Alias=="ab-pool"].MinAddress'))
        self.assertEqual(got, {"%s%d.MinAddress" % (POOL, n): "10.2.0.10"})

    def test_acs_delete_object_is_seen_by_the_controller(self):
        inst = self.ctl.add_one(POOL, {})
        s = self.session(cw.delete_object(inst, "del-1"))
        self.answered(s, "DeleteObject")
        found = uc.instances(self.ctl.get_instances(POOL, first_level_only=True))[POOL][1]
        self.assertNotIn(inst, found)


# ---------------------------------------------------------------------------
# 2. Notifications both ways
# ---------------------------------------------------------------------------

class Notifications(AbCase):

    def bootstrap_script(self):
        return (cw.spa([(INFO + "HostName", 2, None), (INFO + "FriendlyName", 2, None)]),)

    def test_controller_set_is_a_value_change_for_the_acs(self):
        mark = self.acs.mark()
        self.ctl.set({INFO: {"HostName": "usp-changed"}})
        s = self.acs.wait_session(lambda s: s.has("4 VALUE CHANGE") and INFO + "HostName" in s.params, since=mark)
        self.assertEqual(s.params[INFO + "HostName"], "usp-changed")
        self.assertFalse(is_cr(s), "an active notification waited for a Connection Request")

    def test_one_controller_set_is_one_value_change(self):
        # C3: the entries of one USP transaction make one pending CWMP event
        mark = self.acs.mark()
        self.ctl.set({INFO: {"HostName": "both-host", "FriendlyName": "Both Changed"}})
        s = self.acs.wait_session(lambda s: s.has("4 VALUE CHANGE"), since=mark)
        self.assertEqual((s.params.get(INFO + "HostName"), s.params.get(INFO + "FriendlyName")),
                         ("both-host", "Both Changed"), "one Set split over sessions: %s" % s.params)

    def test_acs_set_is_a_value_change_for_the_controller_only(self):
        self.subscribe("vc-acs", "ValueChange", INFO + "HostName")
        mark = self.acs.mark()
        self.session(cw.spv([(INFO + "HostName", "acs-changed")], "vc-1"))
        m, n = self.wait_notify("vc-acs", "ValueChange")
        self.assertEqual((n.value_change.param_path, n.value_change.param_value), (INFO + "HostName", "acs-changed"))
        # a later change by another origin: its session comes after anything
        # the ACS's own write could have raised
        self.ctl.set({INFO: {"FriendlyName": "Barrier"}})
        self.acs.wait_session(lambda s: s.params.get(INFO + "FriendlyName") == "Barrier", since=mark)
        for s in self.acs.sessions_since(mark):
            self.assertNotIn(INFO + "HostName", s.params, "the ACS's own change notified back: %s" % s.events)

    def test_acs_add_object_fires_object_creation(self):
        self.subscribe("oc-acs", "ObjectCreation", POOL)
        s = self.session(cw.add_object(POOL, "oc-1"))
        n = int(self.answered(s, "AddObject").get("InstanceNumber"))
        m, note = self.wait_notify("oc-acs", "ObjectCreation")
        self.assertEqual(note.WhichOneof("notification"), "obj_creation")
        self.assertEqual(note.obj_creation.obj_path, "%s%d." % (POOL, n))

    def test_acs_delete_object_fires_object_deletion(self):
        inst = self.ctl.add_one(POOL, {})
        self.subscribe("od-acs", "ObjectDeletion", POOL)
        self.answered(self.session(cw.delete_object(inst, "od-1")), "DeleteObject")
        m, note = self.wait_notify("od-acs", "ObjectDeletion")
        self.assertEqual(note.obj_deletion.obj_path, inst)


# ---------------------------------------------------------------------------
# 3. Reboot from either side
# ---------------------------------------------------------------------------

class Reboots(AbCase):

    def test_usp_reboot_is_a_boot_for_the_acs(self):
        self.note_starts()
        pid = self.agent.proc.pid
        mark = self.acs.mark()
        resp = self.ctl.operate("Device.Reboot()", command_key="usp-rb")
        self.assertEqual(resp.operation_results[0].executed_command, "Device.Reboot()")
        s = self.acs.wait_session(lambda s: s.has("1 BOOT"), since=mark)
        self.assertNotIn("M Reboot", s.event_codes, "the ACS did not ask for this reboot: %s" % s.events)
        self.assertNotIn("0 BOOTSTRAP", s.event_codes)
        self.wait_restarted()
        self.assertEqual(self.agent.proc.pid, pid, "duetd did not restart in place")

    def test_usp_reboot_waits_for_the_acs_session(self):
        """C6: a Controller's Reboot() while the ACS is in a session: the
        session goes on to its end (its later write answered and kept),
        then the restart and 1 BOOT."""
        self.note_starts()
        answers = []

        def reboot_mid_session(session):
            answers.append(self.ctl.operate("Device.Reboot()", command_key="mid"))
            time.sleep(0.5)  # a restart that did not wait would cut the session here
            return cw.spv([(INFO + "ProvisioningCode", "mid.session", "xsd:string")], "mid-1")

        s = self.session(cw.gpv(INFO + "SoftwareVersion"), reboot_mid_session)
        self.assertEqual(len(answers), 1, "the Controller's Reboot() was not answered")
        self.answered(s, "SetParameterValues")
        self.acs.wait_session(lambda s: s.has("1 BOOT"))
        self.wait_restarted()
        self.assertEqual(self.acs_values(INFO + "ProvisioningCode"), {INFO + "ProvisioningCode": "mid.session"})

    def test_cwmp_reboot_is_a_boot_event_for_the_controller(self):
        self.subscribe("boot-ab", "Event", "Device.Boot!", retry=True, persistent=True)
        self.note_starts()
        mark = self.acs.mark()
        self.answered(self.session(cw.reboot("k1")), "Reboot")
        s = self.acs.wait_session(lambda s: s.has("1 BOOT"), since=mark)
        self.assertIn(("M Reboot", "k1"), s.events)
        self.wait_restarted()
        ctl = self.reconnect()
        m, n = self.wait_notify("boot-ab", "Boot!", ctl=ctl)
        self.assertEqual((n.event.obj_path, n.event.event_name), ("Device.", "Boot!"))
        self.assertEqual(n.event.params["Cause"], "RemoteReboot")
        # TR-181 Device.Boot! CommandKey: the USP command_key, empty when the
        # boot was not requested by a USP Operate (mapping notes 6.1)
        self.assertEqual(n.event.params["CommandKey"], "")
        ctl.notify_resp(m)


class FactoryResets(AbCase):
    """C7: a factory reset from either side. The Boot! subscription is a
    factory default: nothing a manager configured outlives the reset."""

    defaults_extra = AbCase.defaults_extra + tuple(
        "Device.LocalAgent.Subscription.1.%s %s" % kv for kv in (
            ("ID", "boot-fd"), ("Enable", "true"), ("NotifType", "Event"), ("ReferenceList", "Device.Boot!"),
            ("NotifRetry", "true"), ("Persistent", "true"), ("Recipient", "Device.LocalAgent.Controller.1")))

    def reset_seen_by_both(self, key):
        """After a factory reset: the ACS's 0 BOOTSTRAP + 1 BOOT (without
        M Reboot) with the factory ProvisioningCode, and the Controller's
        Boot! with Cause RemoteFactoryReset and the USP command key."""
        s = self.acs.wait_session(lambda s: s.has("0 BOOTSTRAP"), since=self.mark)
        self.assertIn("1 BOOT", s.event_codes)
        self.assertNotIn("M Reboot", s.event_codes)
        self.assertNotEqual(s.params.get(INFO + "ProvisioningCode"), "before.reset")
        self.wait_restarted()
        ctl = self.reconnect()
        m, n = self.wait_notify("boot-fd", "Boot!", ctl=ctl)
        self.assertEqual((n.event.params["Cause"], n.event.params["CommandKey"]), ("RemoteFactoryReset", key))
        ctl.notify_resp(m)

    def prepare(self):
        mark = self.acs.mark()
        self.ctl.set({INFO: {"ProvisioningCode": "before.reset"}})
        # ProvisioningCode is actively notified by default: that session
        # first, so that the ACS's next script is not run in it
        self.acs.wait_session(lambda s: s.has("4 VALUE CHANGE"), since=mark)
        self.note_starts()
        self.mark = self.acs.mark()

    def test_controller_factory_reset(self):
        self.prepare()
        self.ctl.operate("Device.FactoryReset()", command_key="usp-fr")
        self.reset_seen_by_both("usp-fr")

    def test_acs_factory_reset(self):
        self.prepare()
        self.answered(self.session(cw.factory_reset()), "FactoryReset")
        self.reset_seen_by_both("")


# ---------------------------------------------------------------------------
# 4. A firmware Download by the ACS, watched by the Controller
# ---------------------------------------------------------------------------

class FirmwareDownload(AbCase):

    def setUp(self):
        super().setUp()
        self.files = cw.FileServer()
        self.addCleanup(self.files.close)
        self.files.files["/fw/duetgw-0.2.0.img"] = cw.firmware_image("0.2.0")

    def download(self):
        """Subscriptions in place, the Download run; the ACS's report
        session after the restart, the reconnected Controller."""
        self.note_starts()
        mark = self.acs.mark()
        s = self.session(cw.download(self.files.url("/fw/duetgw-0.2.0.img"), FIRMWARE, "fw-ab"))
        self.assertEqual(self.answered(s, "Download").get("Status"), "1")
        t = self.acs.wait_session(lambda s: s.has("M Download", "fw-ab") and transfer_complete(s) is not None,
                                  since=mark)
        self.wait_restarted()
        return t, self.reconnect()

    def test_acs_firmware_download_seen_by_both(self):
        self.subscribe("sw-ab", "ValueChange", INFO + "SoftwareVersion", retry=True, persistent=True)
        self.subscribe("boot-fw", "Event", "Device.Boot!", retry=True, persistent=True)
        t, ctl = self.download()
        self.assertIn("1 BOOT", t.event_codes)
        self.assertIn("7 TRANSFER COMPLETE", t.event_codes)
        tc = transfer_complete(t)
        self.assertEqual(tc.get("CommandKey"), "fw-ab")
        self.assertEqual(int(tc.get("FaultStruct", {}).get("FaultCode", "-1")), 0)
        self.assertEqual(t.params[INFO + "SoftwareVersion"], "0.2.0")
        self.assertEqual(ctl.value(INFO + "SoftwareVersion"), "0.2.0")
        m, n = self.wait_notify("boot-fw", "Boot!", ctl=ctl)
        ctl.notify_resp(m)
        self.assertEqual(n.event.params["Cause"], "RemoteReboot")
        self.assertEqual(n.event.params["CommandKey"], "")
        # TR-181 Boot! FirmwareUpdated: the firmware changed since the last boot
        self.assertEqual(n.event.params.get("FirmwareUpdated"), "true", dict(n.event.params))

    def test_acs_download_is_a_transfer_complete_event(self):
        self.subscribe("tc-ev", "Event", "Device.LocalAgent.TransferComplete!", retry=True, persistent=True)
        t, ctl = self.download()
        m, n = self.wait_notify("tc-ev", "TransferComplete!", ctl=ctl)
        ctl.notify_resp(m)
        self.assertEqual(n.event.params.get("Command"), "")
        self.assertEqual(n.event.params.get("TransferType"), "Download")
        self.assertEqual(n.event.params.get("TransferURL"), self.files.url("/fw/duetgw-0.2.0.img"))


# ---------------------------------------------------------------------------
# 5. Retiring CWMP from USP
# ---------------------------------------------------------------------------

class RetireCwmp(AbCase):

    def bootstrap_script(self):
        return (cw.spa([(INFO + "HostName", 2, None)]),)

    def cr_status(self, url):
        """The Connection Request's final HTTP status, or None when nothing
        listens any more."""
        try:
            return cw.connection_request(url, CR_USER, CR_PASS).status
        except OSError:
            return None

    def retire_and_restore(self, obj):
        """The Controller sets obj's EnableCWMP false, then true again."""
        url = self.cr_url()
        self.ctl.set({obj: {"EnableCWMP": "false"}})
        mark = self.acs.mark()
        status = self.cr_status(url)
        self.assertNotIn(status, (200, 204), "a Connection Request accepted while CWMP is off")
        self.ctl.set({INFO: {"HostName": "while-off"}})  # actively notified
        time.sleep(QUIET)
        self.assertEqual(self.acs.sessions_since(mark), [], "CWMP sessions while EnableCWMP is false")
        self.ctl.set({obj: {"EnableCWMP": "true"}})
        s = self.acs.wait_session(since=mark)
        # C12: the event queue is kept while CWMP is off
        self.assertEqual(s.params.get(INFO + "HostName"), "while-off", s.events)
        self.assertIn(self.cr_status(self.cr_url()), (200, 204), "no Connection Request after re-enabling")
        self.acs.wait_session(is_cr, since=mark)

    def test_full_access_alone_may_not_retire_cwmp(self):
        """C12: the shipped Full Access role reads EnableCWMP by either name
        but only a Controller holding the CWMP Retirement role writes it."""
        other = "proto::duet-full-access-only"
        self.ctl.add_one("Device.LocalAgent.Controller.", {"EndpointID": other, "Enable": "true",
                                                           "AssignedRole": uc.FULL_ACCESS_ROLE})
        ctl = self.agent.controller(endpoint_id=other)
        self.controllers.append(ctl)
        self.assertEqual(ctl.value("Device.CWMPManagementServer.EnableCWMP"), "true")
        for obj in ("Device.CWMPManagementServer.", "Device.ManagementServer."):
            with self.assertRaises(uc.UspError) as cm:
                ctl.set({obj: {"EnableCWMP": "false"}})
            self.assertEqual(cm.exception.param_codes(), {obj + "EnableCWMP": 7006})
        ctl.set({INFO: {"HostName": "full-access-writes-the-rest"}})
        self.assertEqual(self.ctl.value("Device.ManagementServer.EnableCWMP"), "true")

    def test_controller_retires_cwmp_with_management_server_enable(self):
        self.retire_and_restore("Device.ManagementServer.")

    def test_usp_variant_enable_cwmp_is_in_the_schema(self):
        r = self.ctl.get_supported_dm("Device.CWMPManagementServer.")
        objs = r.req_obj_results[0].supported_objs
        self.assertEqual([p.param_name for o in objs for p in o.supported_params], ["EnableCWMP"])

    def test_usp_variant_enable_cwmp_is_the_same_value(self):
        self.ctl.set({"Device.CWMPManagementServer.": {"EnableCWMP": "false"}})
        vals = uc.get_values(self.ctl.get("Device.ManagementServer.EnableCWMP",
                                          "Device.CWMPManagementServer.EnableCWMP"))
        self.assertEqual(vals["Device.ManagementServer.EnableCWMP"], "false", vals)
        self.ctl.set({"Device.ManagementServer.": {"EnableCWMP": "true"}})
        self.assertEqual(self.ctl.value("Device.CWMPManagementServer.EnableCWMP"), "true")

    def test_controller_retires_cwmp_with_the_usp_variant_enable(self):
        self.retire_and_restore("Device.CWMPManagementServer.")


# ---------------------------------------------------------------------------
# Per-view visibility
# ---------------------------------------------------------------------------

class Views(AbCase):

    def test_controller_does_not_see_the_cwmp_management_server(self):
        # a Get answers per path (R-GET.0): the URL is an invalid path, as
        # one the schema lacks is; its value goes nowhere
        url = "Device.ManagementServer.URL"
        r = self.ctl.get(url, "Device.ManagementServer.NoSuchParameter").req_path_results
        self.assertEqual([(x.err_code, len(x.resolved_path_results)) for x in r], [(7026, 0), (7026, 0)])
        self.assertNotIn(url, uc.get_values(self.ctl.get("Device.")))
        with self.assertRaises(uc.UspError):
            self.ctl.set({"Device.ManagementServer.": {"URL": "http://elsewhere/"}})
        self.assertNotEqual(self.admin_get(url), "http://elsewhere/")

    def test_acs_sees_local_agent_as_usp_agent(self):
        ep = self.ctl.value("Device.LocalAgent.EndpointID")
        s = self.session(cw.gpv("Device.USPAgent.EndpointID"), cw.gpn("Device.", False),
                         cw.gpv("Device.LocalAgent.EndpointID"), cw.gpv("Device.USPAgent.SubscriptionNumberOfEntries"))
        self.assertEqual(self.answered(s, "GetParameterValues").values(), {"Device.USPAgent.EndpointID": ep})
        names = self.answered(s, "GetParameterNames").names()
        self.assertIn("Device.USPAgent.Controller.1.EndpointID", names)
        self.assertIn("Device.USPAgent.ControllerTrust.", names)
        self.assertEqual([n for n in names if n.startswith(("Device.LocalAgent.", "Device.CWMPManagementServer."))], [])
        self.assertEqual([n for n in names if n.startswith("Device.USPAgent.Subscription")], [])
        # what the CWMP variant lacks is no name for the ACS (9005)
        answers = [a for r, a in s.exchanges if r.method == "GetParameterValues"]
        self.assertEqual([a.fault and a.fault.code for a in answers[1:]], [9005, 9005])

    def test_controller_schema_lists_what_the_view_shows(self):
        def listed(path, **flags):
            r = self.ctl.get_supported_dm(path, **flags).req_obj_results[0]
            return r.err_code, [(o.supported_obj_path, [p.param_name for p in o.supported_params])
                                for o in r.supported_objs]
        ms = ("Device.ManagementServer.", ["EnableCWMP"])
        self.assertEqual(listed("Device.ManagementServer."), (0, [ms]))
        self.assertEqual(listed("Device.CWMPManagementServer."), (0, [("Device.CWMPManagementServer.", ["EnableCWMP"])]))
        self.assertEqual(listed("Device.ManagementServer.URL")[0], 7026)
        self.assertEqual(listed("Device.USPAgent.")[0], 7026)
        code, objs = listed("Device.", first_level_only=True, params=False)
        names = [o for o, _ in objs]
        self.assertEqual((names.count("Device.ManagementServer."), names.count("Device.CWMPManagementServer.")), (1, 1))
        self.assertNotIn("Device.USPAgent.", names)

    def test_duetctl_takes_both_variants_names(self):
        self.admin_set("Device.USPAgent.Controller.1.PeriodicNotifInterval", "777")
        self.assertEqual(self.ctl.value("Device.LocalAgent.Controller.1.PeriodicNotifInterval"), "777")
        self.assertEqual(self.admin_get("Device.LocalAgent.Controller.1.PeriodicNotifInterval"), "777")

    def test_acs_provisions_a_controller_through_usp_agent(self):
        table = "Device.USPAgent.Controller."
        s = self.session(cw.add_object(table, "prov-1"))
        n = int(self.answered(s, "AddObject").get("InstanceNumber"))
        s = self.session(cw.spv([(table + "%d.EndpointID" % n, "proto::from-acs"),
                                 (table + "%d.PeriodicNotifInterval" % n, "600", "xsd:unsignedInt")], "prov-2"))
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        vals = uc.get_values(self.ctl.get("Device.LocalAgent.Controller.%d." % n))
        self.assertEqual(vals["Device.LocalAgent.Controller.%d.EndpointID" % n], "proto::from-acs")
        self.assertEqual(vals["Device.LocalAgent.Controller.%d.PeriodicNotifInterval" % n], "600")

    def test_acs_is_told_of_a_controller_change_by_its_own_name(self):
        name = "Device.USPAgent.Controller.1.PeriodicNotifInterval"
        self.answered(self.session(cw.spa([(name, 2, None)])), "SetParameterAttributes")
        mark = self.acs.mark()
        self.ctl.set({"Device.LocalAgent.Controller.1.": {"PeriodicNotifInterval": "1234"}})
        s = self.acs.wait_session(lambda s: s.has("4 VALUE CHANGE") and name in s.params, since=mark)
        self.assertEqual(s.params[name], "1234")
        self.assertEqual([p for p in s.params if p.startswith("Device.LocalAgent.")], [])

    def test_acs_change_of_enable_cwmp_notifies_the_usp_variant_name(self):
        self.subscribe("vc-enable", "ValueChange", "Device.CWMPManagementServer.EnableCWMP")
        # C12: the session that retires CWMP ends as the ACS ends it, its
        # write answered; none opens after it
        s = self.session(cw.spv([("Device.ManagementServer.EnableCWMP", "false", "xsd:boolean")], "off-1"),
                         cw.gpv("Device.ManagementServer.EnableCWMP"))
        self.answered(s, "SetParameterValues")
        self.assertEqual(self.answered(s, "GetParameterValues").values(), {"Device.ManagementServer.EnableCWMP": "false"})
        m, n = self.wait_notify("vc-enable", "ValueChange")
        self.assertEqual((n.value_change.param_path, n.value_change.param_value),
                         ("Device.CWMPManagementServer.EnableCWMP", "false"))
        mark = self.acs.mark()
        self.ctl.set({"Device.CWMPManagementServer.": {"EnableCWMP": "true"}})
        self.acs.wait_session(since=mark)


# ---------------------------------------------------------------------------
# 6. Both writing the same parameters at once
# ---------------------------------------------------------------------------

class ConcurrentWrites(AbCase):
    ROUNDS = 30
    PER_SESSION = 10
    A, B = INFO + "FriendlyName", INFO + "HostName"

    def acs_writer(self, out):
        """ROUNDS SPVs of both parameters, each followed by a GPV of both, in
        sessions of PER_SESSION rounds."""
        try:
            for start in range(0, self.ROUNDS, self.PER_SESSION):
                script = []
                for i in range(start, start + self.PER_SESSION):
                    script += [cw.spv([(self.A, "acs-%d" % i), (self.B, "acs-%d" % i)], "race-%d" % i),
                               cw.gpv(self.A, self.B)]
                out.append(self.session(*script))
        except BaseException as e:  # reported by the main thread
            out.append(e)

    def test_race(self):
        sessions, usp_errors, usp_reads = [], [], []
        self.ctl.timeout = cw.TIMEOUT
        t = threading.Thread(target=self.acs_writer, args=(sessions,))
        t.start()
        try:
            i = 0
            # the Controller writes for as long as the ACS does
            while i < self.ROUNDS or t.is_alive():
                i += 1
                try:
                    resp = self.ctl.set({INFO: {"FriendlyName": "usp-%d" % i, "HostName": "usp-%d" % i}})
                    self.assertEqual(len(resp.updated_obj_results), 1)
                    self.assertEqual(uc.status(resp.updated_obj_results[0])[0], "success")
                except uc.UspError as e:
                    usp_errors.append(str(e))
                vals = uc.get_values(self.ctl.get(self.A, self.B))
                usp_reads.append((vals[self.A], vals[self.B]))
        finally:
            t.join(60)
        for s in sessions:
            if isinstance(s, BaseException):
                raise s
        self.assertEqual(usp_errors, [], "USP Sets refused")
        acs_faults, acs_reads = [], []
        for s in sessions:
            for req, ans in s.exchanges:
                if ans.kind == "Fault":
                    acs_faults.append((req.method, ans.fault))
                elif req.method == "SetParameterValues":
                    self.assertEqual(ans.get("Status"), "0")
                else:
                    v = ans.values()
                    acs_reads.append((v[self.A], v[self.B]))
        self.assertEqual(acs_faults, [], "ACS requests refused")
        self.assertEqual(len(acs_reads), self.ROUNDS)
        for a, b in acs_reads + usp_reads:
            self.assertEqual(a, b, "a read saw two writes mixed")
        final_acs = self.acs_values(self.A, self.B)
        final_usp = uc.get_values(self.ctl.get(self.A, self.B))
        self.assertEqual(final_acs, final_usp)
        self.assertEqual(final_usp[self.A], final_usp[self.B])
        self.assertIsNone(self.agent.proc.poll(), "duetd died")


if __name__ == "__main__":
    unittest.main(verbosity=2)
