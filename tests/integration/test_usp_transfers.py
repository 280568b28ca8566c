"""File transfers a Controller operates, end to end: one real duetd, the
test Controller over the --usp-socket (usp_controller.py), the test ACS
(cwmp_acs.py) and a local HTTP(S) file server (docs: ../shared/notes/
cwmp-usp-mapping.md 6.3 and 15, C9, C10, C22; mapping/README.md).

What is proven here:
  - FirmwareImage.{i}.Download(): the image lands in the bank named,
    OperationComplete for the Controller, Device.LocalAgent.TransferComplete!
    with Command, CommandKey and Requestor; CheckSum verified (a mismatch
    fails with 7022); a URL with userinfo refused; https with the agent's
    CA;
  - AutoActivate: the agent restarts into the image, Boot! says
    FirmwareUpdated, and OperationComplete still comes, after the restart,
    with the real outcome (C10);
  - Activate(): at the Start of its first TimeWindow, then completed after
    the restart; windows that need a user or are malformed fail with 7004
    (C22);
  - VendorConfigFile.{i}.Backup() / Restore(), VendorLogFile.{i}.Upload();
  - the ACS: "10 AUTONOMOUS TRANSFER COMPLETE" and AutonomousTransferComplete
    per AutonomousTransferCompletePolicy; GetAllQueuedTransfers lists a
    Controller's running transfer with an empty CommandKey and
    CancelTransfer refuses it with 9021 (C9);
  - SoftwareModules.InstallDU(), DeploymentUnit.{i}.Update() and
    .Uninstall(): OperationComplete and DUStateChange!; the ACS's
    ChangeDUState is a DUStateChange! for the Controller too (6.5).
"""
import hashlib
import os
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_trial import AbAgent, AbCase, cw, uc  # noqa: E402

INFO = "Device.DeviceInfo."
FW2 = INFO + "FirmwareImage.2."
DOWNLOAD = FW2 + "Download()"
ACTIVATE = FW2 + "Activate()"
VCF = INFO + "VendorConfigFile.1."
LOG = INFO + "VendorLogFile.1."
POLICY = "Device.ManagementServer.AutonomousTransferCompletePolicy."
SM = "Device.SoftwareModules."
DU_UUID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def change_du_state_install(url, uuid, key):
    """A ChangeDUState with one InstallOpStruct (the test ACS has no
    builder for the typed operations)."""
    body = ('<cwmp:ChangeDUState><Operations xsi:type="cwmp:InstallOpStruct"><URL>%s</URL><UUID>%s</UUID>'
            '<Username></Username><Password></Password><ExecutionEnvRef></ExecutionEnvRef></Operations>'
            '<CommandKey>%s</CommandKey></cwmp:ChangeDUState>' % (url, uuid, key))
    env = ('<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope'
           ' xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"'
           ' xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/"'
           ' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
           ' xmlns:cwmp="%s"><SOAP-ENV:Header><cwmp:ID SOAP-ENV:mustUnderstand="1">cds-1</cwmp:ID>'
           '</SOAP-ENV:Header><SOAP-ENV:Body>%s</SOAP-ENV:Body></SOAP-ENV:Envelope>' % (cw.CWMP["1-2"], body))
    return cw.Request("ChangeDUState", raw=env.encode())
QUIET_S = 1.0


def atc(s):
    found = s.requests_of("AutonomousTransferComplete")
    return found[0] if found else None


class UspTransferCase(AbCase):
    defaults_extra = AbCase.defaults_extra + (
        "Device.DeviceInfo.VendorConfigFile.1.Name duet.cfg",
        "Device.DeviceInfo.VendorLogFile.1.Name duet.log",
    )

    def setUp(self):
        super().setUp()
        self.files = cw.FileServer()
        self.addCleanup(self.files.close)
        self.image = cw.firmware_image("0.3.0", name="duetgw-0.3.0.img")
        self.files.files["/fw/duetgw-0.3.0.img"] = self.image

    def download_args(self, url=None, auto="false", **extra):
        args = {"URL": url or self.files.url("/fw/duetgw-0.3.0.img"), "AutoActivate": auto}
        args.update(extra)
        return args

    def accepted(self, resp):
        r = resp.operation_results[0]
        self.assertEqual(r.WhichOneof("operation_resp"), "req_obj_path", r)
        return r

    def oper_complete(self, sub_id, ctl=None):
        m, n = self.wait_notify(sub_id, "OperationComplete", ctl=ctl)
        (ctl or self.ctl).notify_resp(m)
        return n.oper_complete

    def transfer_event(self, sub_id, ctl=None):
        m, n = self.wait_notify(sub_id, "TransferComplete!", ctl=ctl)
        (ctl or self.ctl).notify_resp(m)
        return dict(n.event.params)


class FirmwareDownload(UspTransferCase):

    def test_download_into_a_bank_with_its_checksum(self):
        self.subscribe("oc", "OperationComplete", DOWNLOAD)
        self.subscribe("tc", "Event", "Device.LocalAgent.TransferComplete!")
        digest = hashlib.sha256(self.image).hexdigest()
        self.accepted(self.ctl.operate(DOWNLOAD, command_key="fw-1", args=self.download_args(
            CheckSumAlgorithm="SHA-256", CheckSum=digest)))
        oc = self.oper_complete("oc")
        self.assertEqual((oc.command_name, oc.command_key), ("Download()", "fw-1"))
        self.assertNotEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        ev = self.transfer_event("tc")
        self.assertEqual(ev["Command"], DOWNLOAD)
        self.assertEqual(ev["CommandKey"], "fw-1")
        self.assertEqual(ev["Requestor"], uc.CONTROLLER_ID)
        self.assertEqual(ev["TransferType"], "Download")
        self.assertEqual(ev["Affected"], FW2)
        self.assertEqual(ev["TransferURL"], self.files.url("/fw/duetgw-0.3.0.img"))
        self.assertEqual(ev["FaultCode"], "0")
        self.assertNotEqual(ev["CompleteTime"], "0001-01-01T00:00:00Z")
        self.assertEqual(self.ctl.value(FW2 + "Version"), "0.3.0")
        self.assertEqual(self.ctl.value(FW2 + "Status"), "Available")
        # no AutoActivate: the running image is still the old one
        self.assertEqual(self.ctl.value(INFO + "SoftwareVersion"), "0.1.0")

    def test_checksum_mismatch_fails_and_leaves_the_bank(self):
        self.subscribe("oc", "OperationComplete", DOWNLOAD)
        self.subscribe("tc", "Event", "Device.LocalAgent.TransferComplete!")
        wrong = hashlib.sha256(b"another image").hexdigest()
        self.accepted(self.ctl.operate(DOWNLOAD, command_key="fw-bad", args=self.download_args(
            CheckSumAlgorithm="SHA-256", CheckSum=wrong)))
        oc = self.oper_complete("oc")
        self.assertEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        self.assertEqual(oc.cmd_failure.err_code, 7022)
        self.assertIn("checksum", oc.cmd_failure.err_msg)
        ev = self.transfer_event("tc")
        self.assertEqual(ev["FaultCode"], "7022")
        self.assertIn("checksum", ev["FaultString"])
        self.assertEqual(self.ctl.value(FW2 + "Version"), "0.0.9")
        self.assertEqual(self.ctl.value(FW2 + "Status"), "ValidationFailed")

    def test_refused_before_any_fetch(self):
        cases = {
            "userinfo": self.download_args("http://user:pw@127.0.0.1:%d/fw/duetgw-0.3.0.img" % self.files.port),
            "ftp": self.download_args("ftp://127.0.0.1/fw.img"),
            "checksum without algorithm": self.download_args(CheckSum="00" * 32),
            "short checksum": self.download_args(CheckSumAlgorithm="SHA-1", CheckSum="00" * 32),
        }
        for what, args in cases.items():
            r = self.ctl.operate(DOWNLOAD, args=args).operation_results[0]
            self.assertEqual(r.WhichOneof("operation_resp"), "cmd_failure", "%s: %s" % (what, r))
        running = self.ctl.operate("Device.DeviceInfo.FirmwareImage.1.Download()",
                                   args=self.download_args()).operation_results[0]
        self.assertEqual(running.WhichOneof("operation_resp"), "cmd_failure", running)
        self.assertEqual(self.files.gets("/fw/duetgw-0.3.0.img"), [])

    def test_download_failure_reaches_the_controller(self):
        self.subscribe("oc", "OperationComplete", DOWNLOAD)
        self.accepted(self.ctl.operate(DOWNLOAD, args=self.download_args(self.files.url("/fw/missing.img"))))
        oc = self.oper_complete("oc")
        self.assertEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        self.assertEqual(oc.cmd_failure.err_code, 7022)
        self.assertIn("404", oc.cmd_failure.err_msg)
        self.assertEqual(self.ctl.value(FW2 + "Status"), "DownloadFailed")

    def test_status_while_downloading_and_after_a_restart(self):
        """TR-181 FirmwareImage.{i}.Status: Downloading while the file comes,
        DownloadFailed when a restart cut the download short."""
        stall = socket.socket()
        stall.bind(("127.0.0.1", 0))
        stall.listen(4)
        self.addCleanup(stall.close)
        url = "http://127.0.0.1:%d/fw/slow.img" % stall.getsockname()[1]
        self.accepted(self.ctl.operate(DOWNLOAD, args=self.download_args(url)))
        conn, _ = stall.accept()
        self.addCleanup(conn.close)
        self.assertEqual(self.ctl.value(FW2 + "Status"), "Downloading")
        self.note_starts()
        self.ctl.operate("Device.Reboot()")
        self.wait_restarted()
        ctl = self.reconnect()
        self.assertEqual(ctl.value(FW2 + "Status"), "DownloadFailed")


class FirmwareOverHttps(UspTransferCase):
    """The agent's --tls-ca is the trust of a Controller's https downloads."""

    def setUp(self):
        try:
            self.ca = cw.TestCa()
        except cw.Unavailable as e:
            self.skipTest(str(e))
        self.addCleanup(self.ca.cleanup)
        # AbCase.setUp with the CA on duetd's command line
        uc.NeedsCase.setUp(self)
        self.acs = cw.Acs()
        self.addCleanup(self._finish)
        self.agent = AbAgent(self.acs.url, self.overrides, self.defaults_extra, extra=["--tls-ca", self.ca.ca])
        self.acs.explain = self.log_tail
        self.agent.start()
        self.bootstrap = self.acs.wait_session(lambda s: s.has("0 BOOTSTRAP"))
        self.ctl = self.agent.controller()
        self.controllers = [self.ctl]
        self.files = cw.FileServer(tls=self.ca.server_context())
        self.addCleanup(self.files.close)
        self.image = cw.firmware_image("0.3.0")
        self.files.files["/fw/duetgw-0.3.0.img"] = self.image

    def test_https_download(self):
        self.assertTrue(self.files.url("/x").startswith("https://"))
        self.subscribe("oc", "OperationComplete", DOWNLOAD)
        self.accepted(self.ctl.operate(DOWNLOAD, args=self.download_args()))
        oc = self.oper_complete("oc")
        self.assertNotEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        self.assertEqual(self.ctl.value(FW2 + "Version"), "0.3.0")


class AutoActivate(UspTransferCase):

    def test_operation_complete_after_the_restart(self):
        self.subscribe("oc", "OperationComplete", DOWNLOAD, retry=True, persistent=True)
        self.subscribe("tc", "Event", "Device.LocalAgent.TransferComplete!", retry=True, persistent=True)
        self.subscribe("boot", "Event", "Device.Boot!", retry=True, persistent=True)
        self.note_starts()
        self.accepted(self.ctl.operate(DOWNLOAD, command_key="fw-auto", args=self.download_args(auto="true")))
        self.wait_restarted()
        ctl = self.reconnect()
        seen = {}
        deadline = time.monotonic() + uc.TIMEOUT
        while len(seen) < 3 and time.monotonic() < deadline:
            m = ctl.wait_notify(lambda m, n: n.subscription_id in ("oc", "tc", "boot"),
                                timeout=deadline - time.monotonic(), what="Notify after the restart")
            n = uc.notify_of(m)
            ctl.notify_resp(m)
            seen[n.subscription_id] = n
        oc = seen["oc"].oper_complete
        self.assertEqual((oc.command_name, oc.command_key), ("Download()", "fw-auto"))
        self.assertNotEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        boot = dict(seen["boot"].event.params)
        self.assertEqual(boot.get("FirmwareUpdated"), "true", boot)
        ev = dict(seen["tc"].event.params)
        self.assertEqual((ev["Command"], ev["CommandKey"], ev["FaultCode"]), (DOWNLOAD, "fw-auto", "0"))
        self.assertEqual(ctl.value(INFO + "SoftwareVersion"), "0.3.0")
        self.assertEqual(ctl.value(INFO + "ActiveFirmwareImage"), "Device.DeviceInfo.FirmwareImage.2")

    def test_activate_needing_a_user_is_refused(self):
        self.subscribe("oc", "OperationComplete", ACTIVATE)
        self.accepted(self.ctl.operate(ACTIVATE, args={"TimeWindow.1.Start": "0", "TimeWindow.1.End": "7200",
                                                       "TimeWindow.1.Mode": "ConfirmationNeeded"}))
        oc = self.oper_complete("oc")
        self.assertEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        self.assertEqual(oc.cmd_failure.err_code, 7004)
        self.assertIn("confirmation", oc.cmd_failure.err_msg)
        self.accepted(self.ctl.operate(ACTIVATE, args={"TimeWindow.1.Start": "60", "TimeWindow.1.End": "30",
                                                       "TimeWindow.1.Mode": "AnyTime"}))
        self.assertEqual(self.oper_complete("oc").cmd_failure.err_code, 7004)
        self.assertEqual(self.ctl.value(INFO + "BootFirmwareImage"), "Device.DeviceInfo.FirmwareImage.1")

    def test_activate_in_its_window_completes_after_the_restart(self):
        self.subscribe("oc", "OperationComplete", FW2, retry=True, persistent=True)
        self.accepted(self.ctl.operate(DOWNLOAD, args=self.download_args()))
        self.assertNotEqual(self.oper_complete("oc").WhichOneof("operation_resp"), "cmd_failure")
        self.note_starts()
        self.accepted(self.ctl.operate(ACTIVATE, command_key="act-1", args={
            "TimeWindow.1.Start": "1", "TimeWindow.1.End": "3600", "TimeWindow.1.Mode": "AnyTime"}))
        # not before the window opens
        self.assertEqual(self.ctl.value(INFO + "BootFirmwareImage"), "Device.DeviceInfo.FirmwareImage.1")
        self.wait_restarted()
        ctl = self.reconnect()
        oc = self.oper_complete("oc", ctl=ctl)
        self.assertEqual((oc.command_name, oc.command_key), ("Activate()", "act-1"))
        self.assertNotEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        self.assertEqual(ctl.value(INFO + "SoftwareVersion"), "0.3.0")


class ConfigAndLog(UspTransferCase):

    def test_backup_then_restore(self):
        self.subscribe("oc", "OperationComplete", VCF)
        self.ctl.set({INFO: {"FriendlyName": "before backup"}})
        self.accepted(self.ctl.operate(VCF + "Backup()", args={"URL": self.files.url("/up/backup.cfg"),
                                                              "Username": "", "Password": ""}))
        body = self.files.wait_upload("/up/backup.cfg").decode()
        self.assertIn('Device.DeviceInfo.FriendlyName "before backup"', body)
        oc = self.oper_complete("oc")
        self.assertEqual(oc.command_name, "Backup()")
        self.assertNotEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        self.files.files["/cfg/restore.cfg"] = b"# from the backup\nDevice.DeviceInfo.FriendlyName restored\n"
        self.accepted(self.ctl.operate(VCF + "Restore()", args={"URL": self.files.url("/cfg/restore.cfg"),
                                                               "Username": "", "Password": ""}))
        oc = self.oper_complete("oc")
        self.assertEqual(oc.command_name, "Restore()")
        self.assertNotEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        self.assertEqual(self.ctl.value(INFO + "FriendlyName"), "restored")
        # the row restored into keeps its name and says when
        self.assertEqual(self.ctl.value(VCF + "Name"), "duet.cfg")
        self.assertRegex(self.ctl.value(VCF + "Date"), r"^2\d{3}-")

    def test_bad_restore_changes_nothing(self):
        self.subscribe("oc", "OperationComplete", VCF)
        self.files.files["/cfg/bad.cfg"] = b"Device.DeviceInfo.FriendlyName partly\nDevice.No.Such 1\n"
        self.accepted(self.ctl.operate(VCF + "Restore()", args={"URL": self.files.url("/cfg/bad.cfg"),
                                                               "Username": "", "Password": ""}))
        oc = self.oper_complete("oc")
        self.assertEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        self.assertIn("line 2", oc.cmd_failure.err_msg)
        self.assertNotEqual(self.ctl.value(INFO + "FriendlyName"), "partly")

    def test_log_upload(self):
        self.subscribe("tc", "Event", "Device.LocalAgent.TransferComplete!")
        self.accepted(self.ctl.operate(LOG + "Upload()", command_key="log-1",
                                       args={"URL": self.files.url("/up/duet.log"), "Username": "",
                                             "Password": ""}))
        body = self.files.wait_upload("/up/duet.log").decode()
        self.assertTrue(body.startswith("duet vendor log"), body[:80])
        ev = self.transfer_event("tc")
        self.assertEqual((ev["TransferType"], ev["Affected"], ev["CommandKey"]), ("Upload", LOG, "log-1"))


class AcsSide(UspTransferCase):
    overrides = {POLICY + "Enable": "true", POLICY + "TransferTypeFilter": "Both",
                 POLICY + "ResultTypeFilter": "Both", POLICY + "FileTypeFilter": ""}

    def test_autonomous_transfer_complete(self):
        mark = self.acs.mark()
        self.subscribe("oc", "OperationComplete", DOWNLOAD)
        self.accepted(self.ctl.operate(DOWNLOAD, command_key="fw-atc", args=self.download_args()))
        self.oper_complete("oc")
        s = self.acs.wait_session(lambda s: atc(s) is not None, since=mark)
        self.assertIn("10 AUTONOMOUS TRANSFER COMPLETE", s.event_codes)
        self.assertNotIn("M Download", s.event_codes)
        t = atc(s)
        self.assertEqual(t.get("FileType"), "1 Firmware Upgrade Image")
        self.assertEqual(t.get("TransferURL"), self.files.url("/fw/duetgw-0.3.0.img"))
        self.assertIn(t.get("IsDownload"), ("1", "true"))
        self.assertEqual(int(t.get("FaultStruct", {}).get("FaultCode", "-1")), 0)

    def test_report_refused_with_8005_is_offered_again(self):
        self.acs.fail_cpe_request("AutonomousTransferComplete", 8005)
        mark = self.acs.mark()
        self.subscribe("oc", "OperationComplete", DOWNLOAD)
        self.accepted(self.ctl.operate(DOWNLOAD, args=self.download_args()))
        self.oper_complete("oc")
        first = self.acs.wait_session(lambda s: atc(s) is not None, since=mark)
        # 8005: kept, and offered in a later session, not again in this one
        self.assertEqual(len(first.requests_of("AutonomousTransferComplete")), 1)
        after = self.acs.sessions.index(first) + 1
        self.assertIn(self.connection_request().status, (200, 204))
        again = self.acs.wait_session(lambda s: atc(s) is not None, since=after)
        self.assertIn("10 AUTONOMOUS TRANSFER COMPLETE", again.event_codes)
        self.assertEqual(atc(again).get("TransferURL"), self.files.url("/fw/duetgw-0.3.0.img"))

    def test_activation_is_reported_after_the_restart(self):
        self.note_starts()
        mark = self.acs.mark()
        self.accepted(self.ctl.operate(DOWNLOAD, args=self.download_args(auto="true")))
        self.wait_restarted()
        s = self.acs.wait_session(lambda s: atc(s) is not None, since=mark)
        self.assertIn("1 BOOT", s.event_codes)
        self.assertEqual(int(atc(s).get("FaultStruct", {}).get("FaultCode", "-1")), 0)
        self.assertEqual(s.params[INFO + "SoftwareVersion"], "0.3.0")

    def test_policy_filters_the_report(self):
        self.admin_set(POLICY + "ResultTypeFilter", "Failure")
        self.subscribe("oc", "OperationComplete", DOWNLOAD)
        self.accepted(self.ctl.operate(DOWNLOAD, args=self.download_args()))
        self.oper_complete("oc")
        time.sleep(QUIET_S)
        s = self.session(cw.gpv(INFO + "SoftwareVersion"))
        self.assertNotIn("10 AUTONOMOUS TRANSFER COMPLETE", s.event_codes)
        self.assertIsNone(atc(s))

    def test_queued_lists_and_cancel_refuses_a_controllers_transfer(self):
        # a file server that accepts and never answers: the download runs on
        stall = socket.socket()
        stall.bind(("127.0.0.1", 0))
        stall.listen(4)
        self.addCleanup(stall.close)
        url = "http://127.0.0.1:%d/fw/slow.img" % stall.getsockname()[1]
        self.subscribe("oc", "OperationComplete", DOWNLOAD)
        self.accepted(self.ctl.operate(DOWNLOAD, args=self.download_args(url)))
        conn, _ = stall.accept()
        self.addCleanup(conn.close)
        s = self.session(cw.get_all_queued_transfers(), cw.get_queued_transfers(), cw.cancel_transfer(""))
        a = s.answers()
        ours = [t for t in a[0].transfers() if t.get("CommandKey", "") == ""]
        self.assertEqual(len(ours), 1, a[0].transfers())
        self.assertEqual(ours[0].get("State"), "2")
        self.assertEqual(ours[0].get("FileType"), "1 Firmware Upgrade Image")
        self.assertEqual(a[1].transfers(), [], "GetQueuedTransfers lists the ACS's own only")
        self.assertEqual(a[2].kind, "Fault")
        self.assertEqual(a[2].fault.code, 9021, a[2].fault)
        conn.close()
        oc = self.oper_complete("oc")
        self.assertEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)


class SoftwareModules(UspTransferCase):
    overrides = {"Device.ManagementServer.DUStateChangeComplPolicy.Enable": "true",
                 "Device.ManagementServer.DUStateChangeComplPolicy.ResultTypeFilter": "Both"}

    def setUp(self):
        super().setUp()
        self.files.files["/du/app-1.pkg"] = b"version=1.0\npackage\n"
        self.files.files["/du/app-2.pkg"] = b"version=2.0\npackage\n"

    def du_event(self, sub_id="du"):
        m, n = self.wait_notify(sub_id, "DUStateChange!")
        self.ctl.notify_resp(m)
        return dict(n.event.params)

    def test_install_update_uninstall(self):
        self.subscribe("oc", "OperationComplete", SM)
        self.subscribe("du", "Event", SM + "DUStateChange!")
        self.accepted(self.ctl.operate(SM + "InstallDU()", command_key="du-1",
                                       args={"URL": self.files.url("/du/app-1.pkg"), "UUID": DU_UUID}))
        oc = self.oper_complete("oc")
        self.assertEqual((oc.command_name, oc.command_key), ("InstallDU()", "du-1"))
        self.assertNotEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        ev = self.du_event()
        self.assertEqual((ev["OperationPerformed"], ev["CurrentState"], ev["UUID"], ev["Version"]),
                         ("Install", "Installed", DU_UUID, "1.0"))
        self.assertEqual(ev["Fault.FaultCode"], "0")
        du = ev["DeploymentUnitRef"].rstrip(".") + "."
        self.assertEqual(self.ctl.value(du + "Version"), "1.0")

        self.accepted(self.ctl.operate(du + "Update()", args={"URL": self.files.url("/du/app-2.pkg")}))
        self.assertNotEqual(self.oper_complete("oc").WhichOneof("operation_resp"), "cmd_failure")
        ev = self.du_event()
        self.assertEqual((ev["OperationPerformed"], ev["Version"]), ("Update", "2.0"))
        self.assertEqual(self.ctl.value(du + "Version"), "2.0")

        self.accepted(self.ctl.operate(du + "Uninstall()"))
        self.assertNotEqual(self.oper_complete("oc").WhichOneof("operation_resp"), "cmd_failure")
        ev = self.du_event()
        self.assertEqual((ev["OperationPerformed"], ev["CurrentState"]), ("Uninstall", "Uninstalled"))
        insts = uc.instances(self.ctl.get_instances(SM + "DeploymentUnit."))
        self.assertEqual(insts[SM + "DeploymentUnit."][1], {})

    def test_acs_hears_of_a_controllers_install(self):
        mark = self.acs.mark()
        self.subscribe("oc", "OperationComplete", SM)
        self.accepted(self.ctl.operate(SM + "InstallDU()", args={"URL": self.files.url("/du/app-1.pkg"),
                                                                "UUID": DU_UUID}))
        self.oper_complete("oc")
        s = self.acs.wait_session(lambda s: s.requests_of("AutonomousDUStateChangeComplete"), since=mark)
        self.assertIn("12 AUTONOMOUS DU STATE CHANGE COMPLETE", s.event_codes)
        self.assertNotIn("M ChangeDUState", s.event_codes)
        r = s.requests_of("AutonomousDUStateChangeComplete")[0].get("Results")
        r = r[0] if isinstance(r, list) else r
        self.assertEqual((r.get("UUID"), r.get("OperationPerformed"), r.get("CurrentState")),
                         (DU_UUID, "Install", "Installed"))

    def test_policy_keeps_uninstalls_from_the_acs(self):
        self.admin_set("Device.ManagementServer.DUStateChangeComplPolicy.OperationTypeFilter", "Uninstall")
        self.subscribe("oc", "OperationComplete", SM)
        self.accepted(self.ctl.operate(SM + "InstallDU()", args={"URL": self.files.url("/du/app-1.pkg")}))
        self.oper_complete("oc")
        time.sleep(QUIET_S)
        s = self.session(cw.gpv(INFO + "SoftwareVersion"))
        self.assertNotIn("12 AUTONOMOUS DU STATE CHANGE COMPLETE", s.event_codes)
        self.assertEqual(s.requests_of("AutonomousDUStateChangeComplete"), [])

    def test_install_failure(self):
        self.subscribe("oc", "OperationComplete", SM)
        self.subscribe("du", "Event", SM + "DUStateChange!")
        self.accepted(self.ctl.operate(SM + "InstallDU()", args={"URL": self.files.url("/du/missing.pkg")}))
        oc = self.oper_complete("oc")
        self.assertEqual(oc.WhichOneof("operation_resp"), "cmd_failure", oc)
        self.assertEqual(oc.cmd_failure.err_code, 7022)
        ev = self.du_event()
        self.assertEqual((ev["CurrentState"], ev["Fault.FaultCode"]), ("Failed", "7022"))

    def test_acs_change_du_state_is_a_du_state_change_for_the_controller(self):
        self.subscribe("du", "Event", SM + "DUStateChange!")
        mark = self.acs.mark()
        s = self.session(change_du_state_install(self.files.url("/du/app-1.pkg"), DU_UUID, "cds-k"))
        self.assertEqual(s.answer("ChangeDUState").kind, "ChangeDUStateResponse")
        ev = self.du_event()
        self.assertEqual((ev["OperationPerformed"], ev["CurrentState"], ev["UUID"]), ("Install", "Installed", DU_UUID))
        done = self.acs.wait_session(lambda s: s.requests_of("DUStateChangeComplete"), since=mark)
        self.assertIn("11 DU STATE CHANGE COMPLETE", done.event_codes)


if __name__ == "__main__":
    unittest.main(verbosity=2)
