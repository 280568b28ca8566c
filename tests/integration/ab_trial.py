"""The A/B trial set-up for tests/integration/test_ab.py: one duetd that is
at once a CWMP CPE of the test ACS (cwmp_acs.py) and a USP Agent of the
test Controller (usp_controller.py, over the --usp-socket).

What lives here:
  - AbAgent: usp_controller.UspAgent whose factory defaults also aim the
    CWMP front end at the test ACS (quick retries, no periodic Inform) and
    whose Connection Request listener takes an ephemeral port with no rate
    limit (the race test sends several);
  - AbCase: per test an ACS, an AbAgent whose bootstrap session has ended
    and a connected Controller; helpers to run ACS sessions through
    Connection Requests, to subscribe the Controller and to reconnect it
    after a restart.

What does not: assertions about the agent (those are in test_ab.py).
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from duet_harness import CR_PASS, CR_USER, DUETD, load_test_acs  # noqa: E402
import usp_controller as uc  # noqa: E402

cw, MISSING = load_test_acs()
RETIREMENT_ROLE = "Device.LocalAgent.ControllerTrust.Role.3"  # may write EnableCWMP
MIGRATION_ROLES = uc.FULL_ACCESS_ROLE + "," + RETIREMENT_ROLE
FIRMWARE = "1 Firmware Upgrade Image"


def quoted(value):
    if value == "" or " " in value or '"' in value:
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    return value


def cwmp_lines(acs_url, overrides=None):
    """Factory-default lines pointing the CPE at acs_url; overrides: more
    path -> value."""
    settings = {"Device.ManagementServer.URL": acs_url,
                "Device.ManagementServer.CWMPRetryMinimumWaitInterval": "1",
                "Device.ManagementServer.CWMPRetryIntervalMultiplier": "1000",
                "Device.ManagementServer.PeriodicInformEnable": "false"}
    settings.update(overrides or {})
    return settings, ["%s %s" % (k, quoted(v)) for k, v in settings.items()]


class AbAgent(uc.UspAgent):
    """duetd serving the test ACS and the test Controller. Lines of the
    bundled defaults that the CWMP settings replace are dropped, so that
    each path is written once."""

    def __init__(self, acs_url, overrides=None, defaults_extra=(), extra=()):
        settings, lines = cwmp_lines(acs_url, overrides)
        drop = tuple(k + " " for k in settings)
        super().__init__(defaults_extra=list(lines) + list(defaults_extra),
                         extra=["--cwmp-cr-address", "127.0.0.1", "--cwmp-cr-port", "-1",
                                "--cwmp-cr-limit", "0"] + list(extra),
                         drop=drop)


def is_cr(s):
    return s.has("6 CONNECTION REQUEST")


def transfer_complete(s):
    tcs = s.requests_of("TransferComplete")
    return tcs[0] if tcs else None


class AbCase(uc.NeedsCase):
    """A fresh ACS, duetd and Controller per test. self.bootstrap is the
    first session (script given by the class's bootstrap_script()), over
    once setUp returns."""

    overrides = None
    # the test Controller is the trial's migration Controller: Full Access
    # and the role that may retire CWMP (the shipped defaults, C12)
    defaults_extra = ("Device.LocalAgent.Controller.1.USPNotifRetryMinimumWaitInterval 1",
                      "Device.LocalAgent.Controller.1.USPNotifRetryIntervalMultiplier 1000",
                      "Device.LocalAgent.Controller.1.AssignedRole " + MIGRATION_ROLES)

    @classmethod
    def setUpClass(cls):
        cls.needs(cls._cwmp_here, uc.pb, uc.mtp)

    @staticmethod
    def _cwmp_here():
        if MISSING:
            raise uc.Unavailable(MISSING)
        if not os.access(DUETD, os.X_OK):
            raise uc.Unavailable("no %s (make)" % DUETD)

    def bootstrap_script(self):
        return ()

    def setUp(self):
        super().setUp()
        self.acs = cw.Acs()
        self.addCleanup(self._finish)
        self.agent = AbAgent(self.acs.url, self.overrides, self.defaults_extra)
        self.acs.explain = self.log_tail
        script = self.bootstrap_script()
        if script:
            self.acs.next_session(*script)
        self.agent.start()
        self.bootstrap = self.acs.wait_session(lambda s: s.has("0 BOOTSTRAP"))
        self.ctl = self.agent.controller()
        self.controllers = [self.ctl]

    def _finish(self):
        try:
            for c in getattr(self, "controllers", ()):
                try:
                    c.close()
                except OSError:
                    pass
            if getattr(self, "agent", None):
                self.agent.cleanup()
        finally:
            self.acs.close()
        self.assertEqual(self.acs.errors, [], "the ACS saw protocol errors")

    def log_tail(self, lines=25):
        try:
            return "duetd log:\n" + "\n".join(self.agent.read_log().splitlines()[-lines:])
        except OSError:
            return ""

    # --- the ACS side -------------------------------------------------------
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

    def cr_url(self):
        return self.admin_get("Device.ManagementServer.ConnectionRequestURL")

    def connection_request(self):
        return cw.connection_request(self.cr_url(), CR_USER, CR_PASS)

    def session(self, *script):
        """Run script in a session opened by a Connection Request."""
        mark = self.acs.mark()
        self.acs.next_session(*script)
        r = self.connection_request()
        self.assertIn(r.status, (200, 204), "Connection Request refused")
        return self.acs.wait_session(is_cr, since=mark)

    def answered(self, s, method, nth=0):
        """The nth answer to method in s, which must not be a fault."""
        found = [ans for req, ans in s.exchanges if req.method == method]
        self.assertGreater(len(found), nth, "%s was not answered in %s" % (method, s.log))
        ans = found[nth]
        self.assertNotEqual(ans.kind, "Fault", "%s answered by %s" % (method, ans.fault))
        return ans

    def acs_values(self, *names):
        s = self.session(cw.gpv(*names))
        return self.answered(s, "GetParameterValues").values()

    # --- the Controller side --------------------------------------------------
    def subscribe(self, sub_id, kind, refs, retry=False, persistent=False, ctl=None):
        return (ctl or self.ctl).add_one("Device.LocalAgent.Subscription.", {
            "ID": sub_id, "NotifType": kind, "ReferenceList": refs, "Enable": "true",
            "NotifRetry": "true" if retry else "false", "Persistent": "true" if persistent else "false"})

    def wait_notify(self, sub_id, what, timeout=uc.TIMEOUT, ctl=None):
        m = (ctl or self.ctl).wait_notify(lambda m, n: n.subscription_id == sub_id, timeout=timeout,
                                          what="%s Notify for %s" % (what, sub_id))
        return m, uc.notify_of(m)

    def reconnect(self):
        """A new Controller connection once duetd is back after a restart."""
        self.ctl = self.agent.controller()
        self.controllers.append(self.ctl)
        return self.ctl

    def wait_restarted(self):
        """duetd has restarted in place (one more start in its log) and takes
        USP connections again."""
        self.agent.wait_restart(self.starts + 1, timeout=cw.TIMEOUT)

    def note_starts(self):
        self.starts = self.agent.restarts()
