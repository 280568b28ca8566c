"""The USP Broker end to end: a real duetd with --usp-broker-socket, a small
USP Service written here (it connects to the Broker socket, hand-shakes,
Registers "Device.X_DUET_Sensor." and answers Get, Set, Add and Delete from
a dict), the test Controller on the --usp-socket and the test ACS.

What is checked (docs: mapping/README.md "Proxying"; TR-369 Register and
Deregister; notes/cwmp-usp-mapping.md 3, 9.2 and 14):
  - Register: success, 7029 for another Service's path or a path inside
    it, 7028 for a path the schema lacks or one with an instance number,
    all or nothing with allow_partial false (an Error); Deregister: 7031
    for another Service's path, 7030 for one never registered, the empty
    path for all of them;
  - a Controller's Get and Set on the registered subtree reach the Service
    and its answers come back;
  - the ACS's GetParameterValues (mixed with the agent's own names),
    GetParameterNames, SetParameterValues, AddObject and DeleteObject reach
    the Service and are answered within the session;
  - a Service that disconnects takes its paths along: the Controller gets
    a not-found error, the ACS 9005;
  - a Service that never answers: 7003 and 9002 within the Broker's bound.
"""
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_trial import AbAgent, AbCase, cw, is_cr, uc  # noqa: E402
from duet_harness import DUETD  # noqa: E402

SENSOR = "Device.X_DUET_Sensor."
SUBS = "Device.LocalAgent.Subscription."
SERVICE_ID = "proto::duet-test-sensor"
OTHER_ID = "proto::duet-test-other"
TIMEOUT_MS = 1000  # --usp-broker-timeout of these tests


class Service:
    """A USP Service on the Broker socket: a USP Agent whose Controller is
    duetd. Requests from duetd are answered from self.params (path ->
    value) unless self.silent; answers to our own requests (Register,
    Deregister) are queued for the test."""

    def __init__(self, path, endpoint_id=SERVICE_ID, params=None):
        self.endpoint_id = endpoint_id
        self.c = uc.mtp().UdsClient(path, endpoint_id, uc.TIMEOUT, handshake=True)
        self.broker_id = self.c.agent_id
        self.params = dict(params or {})
        self.subs = {}  # Subscription ID -> (NotifType, [references]) the Broker added here
        self.silent = False
        self.requests = []
        self.answers = queue.Queue()
        self.seq = 0
        self.closed = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    # ---- the Service's own requests ----

    def send(self, m):
        self.c.send_record(uc.record(m.SerializeToString(), to_id=self.broker_id, from_id=self.endpoint_id))

    def request(self, m):
        self.send(m)
        deadline = time.time() + uc.TIMEOUT
        while time.time() < deadline:
            try:
                r = self.answers.get(timeout=0.1)
            except queue.Empty:
                continue
            if r.header.msg_id == m.header.msg_id:
                return r
        raise uc.NoAnswer("the Broker did not answer %s" % m.header.msg_id)

    def register(self, *paths, allow_partial=True):
        self.seq += 1
        m = uc._msg("reg-%d" % self.seq, "REGISTER")
        m.body.request.register.allow_partial = allow_partial
        for p in paths:
            m.body.request.register.reg_paths.add().path = p
        return self.request(m)

    def deregister(self, *paths):
        self.seq += 1
        m = uc._msg("dereg-%d" % self.seq, "DEREGISTER")
        m.body.request.deregister.paths.extend(paths)
        return self.request(m)

    def close(self):
        self.closed = True
        self.c.close()

    # ---- serving the Broker ----

    def _run(self):
        while not self.closed:
            try:
                tlvs = self.c.recv_frame(0.2)
            except (OSError, ValueError):
                if self.closed:
                    return
                continue
            if tlvs is None:
                return
            for t, v in tlvs:
                if t == uc.TLV_RECORD:
                    self._record(v)

    def _record(self, data):
        m = uc.record_msg(uc.parse_record(data))
        if m is None:
            return
        if uc.msg_body_kind(m) != "request":
            self.answers.put(m)
            return
        self.requests.append(m)
        if not self.silent:
            answer = self._answer(m)
            if answer is not None:
                self.send(answer)

    def _answer(self, m):
        kind = m.body.request.WhichOneof("req_type")
        serve = getattr(self, "_" + kind, None)
        if serve is None:
            e = uc._msg(m.header.msg_id, "ERROR")
            e.body.error.err_code, e.body.error.err_msg = 7001, "not served by this Service"
            return e
        return serve(m.header.msg_id, getattr(m.body.request, kind))

    def _get(self, msg_id, g):
        r = uc._msg(msg_id, "GET_RESP")
        for path in g.param_paths:
            rp = r.body.response.get_resp.req_path_results.add()
            rp.requested_path = path
            found = {k: v for k, v in self.params.items() if k == path or (path.endswith(".") and k.startswith(path))}
            if not found:
                rp.err_code, rp.err_msg = 7026, "no such path"
                continue
            objs = {}
            for k, v in sorted(found.items()):
                obj, name = k.rsplit(".", 1)
                objs.setdefault(obj + ".", {})[name] = v
            for obj, params in objs.items():
                res = rp.resolved_path_results.add()
                res.resolved_path = obj
                res.result_params.update(params)
        return r

    def _set(self, msg_id, s):
        for u in s.update_objs:
            for ps in u.param_settings:
                if u.obj_path + ps.param not in self.params:
                    e = uc._msg(msg_id, "ERROR")
                    e.body.error.err_code, e.body.error.err_msg = 7021, "required parameter failed"
                    pe = e.body.error.param_errs.add()
                    pe.param_path, pe.err_code, pe.err_msg = u.obj_path + ps.param, 7010, "unsupported"
                    return e
        r = uc._msg(msg_id, "SET_RESP")
        for u in s.update_objs:
            res = r.body.response.set_resp.updated_obj_results.add()
            res.requested_path = u.obj_path
            ok = res.oper_status.oper_success.updated_inst_results.add()
            ok.affected_path = u.obj_path
            for ps in u.param_settings:
                self.params[u.obj_path + ps.param] = ps.value
                ok.updated_params[ps.param] = ps.value
        self.send(r)
        for u in s.update_objs:
            for ps in u.param_settings:
                self.value_changed(u.obj_path + ps.param, ps.value)
        return None

    def value_changed(self, path, value):
        """Notify ValueChange for every subscription of the Broker's on path."""
        for sub_id, (kind, refs) in list(self.subs.items()):
            if kind == "ValueChange" and any(path == ref or (ref.endswith(".") and path.startswith(ref))
                                             for ref in refs):
                self.seq += 1
                m = uc._msg("notify-%d" % self.seq, "NOTIFY")
                n = m.body.request.notify
                n.subscription_id, n.send_resp = sub_id, True
                n.value_change.param_path, n.value_change.param_value = path, value
                self.send(m)

    def _add(self, msg_id, a):
        r = uc._msg(msg_id, "ADD_RESP")
        for co in a.create_objs:
            if co.obj_path == SUBS:
                ps = {p.param: p.value for p in co.param_settings}
                self.subs[ps["ID"]] = (ps["NotifType"], ps["ReferenceList"].split(","))
                res = r.body.response.add_resp.created_obj_results.add()
                res.requested_path = co.obj_path
                res.oper_status.oper_success.instantiated_path = "%s%d." % (SUBS, len(self.subs))
                continue
            used = {int(k[len(co.obj_path):].split(".")[0]) for k in self.params if k.startswith(co.obj_path)}
            n = max(used | {0}) + 1
            inst = "%s%d." % (co.obj_path, n)
            self.params.update({inst + "Name": "", inst + "Value": "0", inst + "Unit": ""})
            res = r.body.response.add_resp.created_obj_results.add()
            res.requested_path = co.obj_path
            res.oper_status.oper_success.instantiated_path = inst
        return r

    def _delete(self, msg_id, d):
        r = uc._msg(msg_id, "DELETE_RESP")
        for path in d.obj_paths:
            if path.startswith(SUBS + '[ID=="'):
                self.subs.pop(path[len(SUBS) + 6:-3], None)
            gone = [k for k in self.params if k.startswith(path)]
            for k in gone:
                del self.params[k]
            res = r.body.response.delete_resp.deleted_obj_results.add()
            res.requested_path = path
            res.oper_status.oper_success.affected_paths.append(path)
        return r


def reg_results(resp):
    """RegisterResp / DeregisterResp as {requested_path: ('success', path(s)) or ('failure', code)}."""
    body = resp.body.response
    if body.WhichOneof("resp_type") == "register_resp":
        out = {}
        for r in body.register_resp.registered_path_results:
            kind, st = uc.status(r)
            out[r.requested_path] = (kind, st.registered_path if kind == "success" else st.err_code)
        return out
    out = {}
    for r in body.deregister_resp.deregistered_path_results:
        kind, st = uc.status(r)
        out[r.requested_path] = (kind, sorted(st.deregistered_path) if kind == "success" else st.err_code)
    return out


SENSOR_1 = {SENSOR + "1.Name": "kitchen", SENSOR + "1.Value": "21", SENSOR + "1.Unit": "C",
            SENSOR + "2.Name": "cellar", SENSOR + "2.Value": "12", SENSOR + "2.Unit": "C"}


class BrokerCase(AbCase):
    """AbCase with the Broker socket on and a short answer bound."""

    def setUp(self):
        uc.NeedsCase.setUp(self)
        self.sock_dir = tempfile.mkdtemp(prefix="duet-brk-")
        self.broker_sock = os.path.join(self.sock_dir, "broker.sock")
        self.acs = cw.Acs()
        self.addCleanup(self._finish)
        self.services = []
        self.addCleanup(self._close_services)
        self.agent = AbAgent(self.acs.url, self.overrides, self.defaults_extra,
                             extra=["--usp-broker-socket", self.broker_sock,
                                    "--usp-broker-timeout", str(TIMEOUT_MS)])
        self.acs.explain = self.log_tail
        self.agent.start()
        self.bootstrap = self.acs.wait_session(lambda s: s.has("0 BOOTSTRAP"))
        self.ctl = self.agent.controller()
        self.controllers = [self.ctl]

    def _close_services(self):
        for s in self.services:
            s.close()
        for name in os.listdir(self.sock_dir):
            os.unlink(os.path.join(self.sock_dir, name))
        os.rmdir(self.sock_dir)

    def service(self, endpoint_id=SERVICE_ID, params=None, register=True):
        s = Service(self.broker_sock, endpoint_id, params)
        self.services.append(s)
        self.assertEqual(s.broker_id, uc.AGENT_ID, "the Broker's Handshake names the agent")
        if register:
            self.assertEqual(reg_results(s.register(SENSOR)), {SENSOR: ("success", SENSOR)})
        return s

    def acs_answer(self, s, method):
        found = [ans for req, ans in s.exchanges if req.method == method]
        self.assertTrue(found, "%s was not answered in %s" % (method, s.log))
        return found[0]


class Options(unittest.TestCase):

    def test_bad_timeout_is_a_usage_error(self):
        for bad in ("5", "x", "700000"):
            p = subprocess.run([DUETD, "--usp-broker-socket", "/tmp/unused.sock", "--usp-broker-timeout", bad],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("--usp-broker-timeout", p.stderr)

    def test_help_names_the_broker(self):
        p = subprocess.run([DUETD, "--help"], capture_output=True, text=True, timeout=10)
        self.assertIn("--usp-broker-socket PATH", p.stdout)
        self.assertIn("DUET_USP_BROKER_TIMEOUT", p.stdout)


class Register(BrokerCase):

    def test_register_rules(self):
        self.service(params=SENSOR_1)
        other = self.service(OTHER_ID, register=False)
        got = reg_results(other.register(SENSOR, SENSOR + "Sub.", "Device.NoSuchThing.", SENSOR + "1.",
                                         "Device.Hosts."))
        self.assertEqual(got[SENSOR], ("failure", 7029))
        self.assertEqual(got[SENSOR + "Sub."], ("failure", 7028))  # not in the schema
        self.assertEqual(got["Device.NoSuchThing."], ("failure", 7028))
        self.assertEqual(got[SENSOR + "1."], ("failure", 7028))  # R-REG.2: no instance numbers
        self.assertEqual(got["Device.Hosts."], ("success", "Device.Hosts."))
        # allow_partial false: all or nothing, and an Error
        r = other.register("Device.Time.", SENSOR, allow_partial=False)
        self.assertEqual(uc.msg_body_kind(r), "error")
        self.assertEqual(r.body.error.err_code, 7029)
        self.assertEqual(reg_results(other.register("Device.Time.")), {"Device.Time.": ("success", "Device.Time.")})

    def test_deregister_rules(self):
        self.service()
        other = self.service(OTHER_ID, register=False)
        other.register("Device.Hosts.", "Device.Time.")
        got = reg_results(other.deregister(SENSOR, "Device.DNS.", "Device.Hosts."))
        self.assertEqual(got[SENSOR], ("failure", 7031))
        self.assertEqual(got["Device.DNS."], ("failure", 7030))
        self.assertEqual(got["Device.Hosts."], ("success", ["Device.Hosts."]))
        got = reg_results(other.deregister(""))
        self.assertEqual(got[""], ("success", ["Device.Time."]))

    def test_services_table_follows_the_registrations(self):
        """TR-181 Device.USPServices.USPService.{i}: one row per Service
        holding paths, its paths listed; the row goes with its last path."""
        table = "Device.USPServices.USPService."

        def rows():
            got = uc.get_values(self.ctl.get(table))
            ids = {k[:-len("EndpointID")]: v for k, v in got.items() if k.endswith(".EndpointID")}
            return {v: (got[k + "Protocol"], got[k + "DataModelPaths"], got[k + "HasController"])
                    for k, v in ids.items()}

        self.assertEqual(rows(), {})
        self.service()
        other = self.service(OTHER_ID, register=False)
        other.register("Device.Hosts.", "Device.Time.")
        self.assertEqual(rows(), {SERVICE_ID: ("UDS", SENSOR, "false"),
                                  OTHER_ID: ("UDS", "Device.Hosts.,Device.Time.", "false")})
        first = uc.instances(self.ctl.get_instances(table, first_level_only=True))[table][1]
        other.deregister("Device.Hosts.")
        self.assertEqual(rows()[OTHER_ID], ("UDS", "Device.Time.", "false"))
        other.deregister("")
        self.assertEqual(list(rows()), [SERVICE_ID])
        # the Service that stayed kept its instance, found by its key
        now = uc.instances(self.ctl.get_instances(table, first_level_only=True))[table][1]
        self.assertEqual(len(now), 1)
        (inst, keys), = now.items()
        self.assertEqual((keys.get("EndpointID"), first.get(inst, {}).get("EndpointID")), (SERVICE_ID, SERVICE_ID))

    def test_registration_from_a_controller_is_refused(self):
        m = uc._msg("ctl-reg", "REGISTER")
        m.body.request.register.reg_paths.add().path = SENSOR
        r = self.ctl.request(m)
        self.assertEqual((uc.msg_body_kind(r), r.body.error.err_code), ("error", 7001))


class BadServices(BrokerCase):

    def test_garbage_record_closes_the_connection(self):
        svc = self.service(params=SENSOR_1)
        svc.closed = True  # the reader thread stops; read the socket here
        svc.t.join(1)
        svc.c.send_record(b"\x01\x02 not a record")
        tlvs, deadline = [], time.time() + uc.TIMEOUT
        while time.time() < deadline:
            f = svc.c.recv_frame(uc.TIMEOUT)
            if f is None:
                break
            tlvs += f
        self.assertIn(uc.TLV_ERROR, [t for t, v in tlvs], "R-UDS.23: an Error frame before the close")
        # its paths are gone, the agent serves on
        deadline = time.time() + uc.TIMEOUT
        while "gone" not in self.agent.read_log() and time.time() < deadline:
            time.sleep(0.05)
        self.service(OTHER_ID)
        self.assertEqual(self.ctl.value("Device.DeviceInfo.SerialNumber"), "DG0000000001")

    def test_bad_msgs_are_refused(self):
        svc = self.service(register=False)
        svc.c.send_record(uc.record(b"\xff\xff\xff", to_id=svc.broker_id, from_id=svc.endpoint_id))
        got = reg_results(svc.register("", "Device.X_DUET_Sensor.{i}.", "Device.*."))
        self.assertEqual(set(got.values()), {("failure", 7028)})
        m = uc.get_msg("svc-get", ["Device."])
        r = svc.request(m)
        self.assertEqual((uc.msg_body_kind(r), r.body.error.err_code), ("error", 7001))
        # an answer nobody asked for is dropped
        svc.send(svc._get("nobody-asked", m.body.request.get))
        self.assertEqual(reg_results(svc.register(SENSOR)), {SENSOR: ("success", SENSOR)})

    def test_stop_with_requests_in_flight(self):
        svc = self.service(params=SENSOR_1)
        svc.silent = True
        self.ctl.send_msg(uc.get_msg("in-flight", [SENSOR + "1.Name"]))
        self.acs.next_session(cw.gpv(SENSOR + "1.Value"))
        self.connection_request()
        deadline = time.time() + uc.TIMEOUT
        while len(svc.requests) < 2 and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(len(svc.requests), 2)
        self.assertEqual(self.agent.stop(), 0, self.log_tail())
        self.acs.errors.clear()  # the session the stop cut short


class Controllers(BrokerCase):

    def test_get_and_set_are_forwarded(self):
        svc = self.service(params=SENSOR_1)
        self.assertEqual(uc.get_values(self.ctl.get(SENSOR + "1.")),
                         {SENSOR + "1.Name": "kitchen", SENSOR + "1.Value": "21", SENSOR + "1.Unit": "C"})
        self.ctl.set({SENSOR + "2.": {"Value": "14"}})
        self.assertEqual(svc.params[SENSOR + "2.Value"], "14")
        self.assertEqual(self.ctl.value(SENSOR + "2.Value"), "14")
        # the agent's own paths stay the agent's
        self.assertEqual(self.ctl.value("Device.DeviceInfo.SerialNumber"), "DG0000000001")
        self.assertFalse(any(m.body.request.get.param_paths == ["Device.DeviceInfo.SerialNumber"]
                             for m in svc.requests if m.body.request.WhichOneof("req_type") == "get"))

    def test_get_above_registered_paths_merges(self):
        svc = self.service(params=SENSOR_1)
        resp = self.ctl.get("Device.", "Device.DeviceInfo.")
        got = uc.get_results(resp)
        self.assertEqual(got["Device."][0], 0)
        self.assertEqual(got["Device."][1][SENSOR + "2."], {"Name": "cellar", "Value": "12", "Unit": "C"})
        self.assertEqual(got["Device."][1]["Device.DeviceInfo."]["SerialNumber"], "DG0000000001")
        self.assertNotIn(SENSOR + "1.", got["Device.DeviceInfo."][1])
        # a silent Service is left out after the bound, the rest answers
        svc.silent = True
        t0 = time.time()
        got = uc.get_results(self.ctl.get("Device."))
        self.assertNotIn(SENSOR + "1.", got["Device."][1])
        self.assertIn("Device.DeviceInfo.", got["Device."][1])
        self.assertLess(time.time() - t0, TIMEOUT_MS / 1000.0 + 2)

    def test_untrusted_controller_is_not_forwarded(self):
        svc = self.service(params=SENSOR_1)
        stranger = self.agent.controller("proto::duet-test-stranger")
        self.controllers.append(stranger)
        with self.assertRaises(uc.UspError) as cm:
            stranger.get(SENSOR + "1.Name")
        self.assertEqual(cm.exception.code, 7006)
        with self.assertRaises(uc.UspError) as cm:
            stranger.set({SENSOR + "1.": {"Value": "0"}})
        self.assertEqual(cm.exception.code, 7006)
        self.assertEqual(svc.requests, [])

    def test_operate_and_instances_are_forwarded_whole(self):
        svc = self.service(params=SENSOR_1)
        m = uc.get_instances_msg("gi-1", [SENSOR], first_level_only=True)
        r = self.ctl.request(m)
        # the Service does not serve GetInstances: its Error comes back as is
        self.assertEqual((uc.msg_body_kind(r), r.header.msg_id), ("error", "gi-1"))
        self.assertEqual(svc.requests[-1].body.request.WhichOneof("req_type"), "get_instances")
        r = self.ctl.request(uc.operate_msg("op-1", SENSOR + "1.Calibrate()", "k"))
        self.assertEqual((uc.msg_body_kind(r), r.body.error.err_code), ("error", 7001))
        self.assertEqual(svc.requests[-1].body.request.operate.command, SENSOR + "1.Calibrate()")

    def test_service_errors_come_back(self):
        self.service(params=SENSOR_1)
        got = uc.get_results(self.ctl.get(SENSOR + "9.Name"))
        self.assertEqual(got[SENSOR + "9.Name"][0], 7026)

    def test_disconnect_takes_the_paths(self):
        svc = self.service(params=SENSOR_1)
        self.assertEqual(self.ctl.value(SENSOR + "1.Name"), "kitchen")
        svc.close()
        deadline = time.time() + uc.TIMEOUT
        while "gone" not in self.agent.read_log() and time.time() < deadline:
            time.sleep(0.05)
        got = uc.get_results(self.ctl.get(SENSOR + "1.Name"))
        self.assertIn(got[SENSOR + "1.Name"][0], (7016, 7026))
        # the path is free again
        self.service(OTHER_ID)

    def test_silent_service_times_out(self):
        svc = self.service(params=SENSOR_1)
        svc.silent = True
        t0 = time.time()
        with self.assertRaises(uc.UspError) as cm:
            self.ctl.get(SENSOR + "1.Name")
        self.assertEqual(cm.exception.code, 7003)
        self.assertLess(time.time() - t0, TIMEOUT_MS / 1000.0 + 2)


class Subscriptions(BrokerCase):

    def wait_for(self, cond, what):
        deadline = time.time() + uc.TIMEOUT
        while not cond() and time.time() < deadline:
            time.sleep(0.02)
        self.assertTrue(cond(), "%s\n%s" % (what, self.log_tail()))

    def test_value_change_is_relayed(self):
        row = self.subscribe("vc-sensor", "ValueChange", SENSOR + "1.Value")
        self.subscribe("vc-local", "ValueChange", "Device.DeviceInfo.HostName")
        svc = self.service(params=SENSOR_1)  # registers after the rows exist
        self.wait_for(lambda: len(svc.subs) == 1, "one relayed Subscription on the Service")
        (kind, refs), = svc.subs.values()
        self.assertEqual((kind, refs), ("ValueChange", [SENSOR + "1.Value"]))
        self.ctl.set({SENSOR + "1.": {"Value": "30"}})
        m, n = self.wait_notify("vc-sensor", "ValueChange")
        self.assertEqual((n.value_change.param_path, n.value_change.param_value), (SENSOR + "1.Value", "30"))
        self.assertFalse(n.send_resp)
        # the row goes: so does the relay
        self.ctl.delete(row)
        self.wait_for(lambda: not svc.subs, "the relayed Subscription deleted on the Service")

    def test_disabled_row_is_not_relayed(self):
        svc = self.service(params=SENSOR_1)
        row = self.subscribe("vc-off", "ValueChange", SENSOR + "2.")
        self.wait_for(lambda: len(svc.subs) == 1, "a relayed Subscription")
        self.ctl.set({row: {"Enable": "false"}})
        self.wait_for(lambda: not svc.subs, "the relay closed with the row disabled")


class Acs(BrokerCase):

    def test_gpv_spv_gpn_are_forwarded(self):
        svc = self.service(params=SENSOR_1)
        s = self.session(cw.gpv(SENSOR + "1.", "Device.DeviceInfo.SerialNumber"),
                         cw.spv([(SENSOR + "1.Value", "23"), (SENSOR + "1.Name", "hall")], "prx-1"),
                         cw.gpv(SENSOR + "1.Value"),
                         cw.gpn(SENSOR, True),
                         cw.gpv("Device.ManagementServer.ParameterKey"))
        vals = self.answered(s, "GetParameterValues", 0).values()
        self.assertEqual(vals, {SENSOR + "1.Name": "kitchen", SENSOR + "1.Value": "21", SENSOR + "1.Unit": "C",
                                "Device.DeviceInfo.SerialNumber": "DG0000000001"})
        self.assertEqual(self.answered(s, "SetParameterValues").get("Status"), "0")
        self.assertEqual((svc.params[SENSOR + "1.Value"], svc.params[SENSOR + "1.Name"]), ("23", "hall"))
        self.assertEqual(self.answered(s, "GetParameterValues", 1).values(), {SENSOR + "1.Value": "23"})
        self.assertEqual(sorted(self.answered(s, "GetParameterNames").names()), [SENSOR + "1.", SENSOR + "2."])
        self.assertEqual(self.answered(s, "GetParameterValues", 2).values(),
                         {"Device.ManagementServer.ParameterKey": "prx-1"})

    def test_whole_tree_reads_merge_the_service(self):
        self.service(params=SENSOR_1)
        s = self.session(cw.gpv("Device."), cw.gpn("", False), cw.gpn("Device.", True))
        vals = self.answered(s, "GetParameterValues").values()
        self.assertEqual(vals[SENSOR + "2.Name"], "cellar")
        self.assertEqual(vals["Device.DeviceInfo.SerialNumber"], "DG0000000001")
        names = self.answered(s, "GetParameterNames", 0).names()
        self.assertEqual(names[SENSOR], True)  # the ACS may add instances
        for n in (SENSOR + "1.", SENSOR + "1.Value", SENSOR + "2.Unit", "Device.DeviceInfo.SerialNumber"):
            self.assertIn(n, names)
        self.assertIn(SENSOR, self.answered(s, "GetParameterNames", 1).names())

    def test_whole_tree_read_without_a_silent_service(self):
        svc = self.service(params=SENSOR_1)
        svc.silent = True
        s = self.session(cw.gpv("Device.DeviceInfo.", "Device."))
        vals = self.answered(s, "GetParameterValues").values()
        self.assertEqual(vals["Device.DeviceInfo.SerialNumber"], "DG0000000001")
        self.assertFalse([n for n in vals if n.startswith(SENSOR)])

    def test_add_and_delete_are_forwarded(self):
        svc = self.service(params=SENSOR_1)
        s = self.session(cw.add_object(SENSOR, "prx-add"), cw.delete_object(SENSOR + "1.", "prx-del"))
        self.assertEqual(self.answered(s, "AddObject").get("InstanceNumber"), "3")
        self.assertEqual(self.answered(s, "DeleteObject").get("Status"), "0")
        self.assertIn(SENSOR + "3.Name", svc.params)
        self.assertNotIn(SENSOR + "1.Name", svc.params)

    def test_service_refusal_is_a_fault(self):
        self.service(params=SENSOR_1)
        s = self.session(cw.spv([(SENSOR + "7.Value", "1")], "prx-2"),
                         cw.spv([(SENSOR + "1.Value", "1"), ("Device.DeviceInfo.HostName", "h")], "prx-3"))
        f = self.acs_answer(s, "SetParameterValues")
        self.assertEqual(f.kind, "Fault")
        self.assertEqual(f.fault.code, 9003)
        self.assertEqual(f.fault.spv, [(SENSOR + "7.Value", 9005, "unsupported")])
        mixed = [ans for req, ans in s.exchanges if req.method == "SetParameterValues"][1]
        self.assertEqual(mixed.fault.code, 9001)

    def test_disconnect_gives_9005(self):
        svc = self.service(params=SENSOR_1)
        svc.close()
        deadline = time.time() + uc.TIMEOUT
        while "gone" not in self.agent.read_log() and time.time() < deadline:
            time.sleep(0.05)
        s = self.session(cw.gpv(SENSOR + "1.Name"))
        f = self.acs_answer(s, "GetParameterValues")
        self.assertEqual((f.kind, f.fault.code), ("Fault", 9005))

    def test_silent_service_gives_9002(self):
        svc = self.service(params=SENSOR_1)
        svc.silent = True
        t0 = time.time()
        s = self.session(cw.gpv(SENSOR + "1.Name"), cw.gpv("Device.DeviceInfo.SerialNumber"))
        f = self.acs_answer(s, "GetParameterValues")
        self.assertEqual((f.kind, f.fault.code), ("Fault", 9002))
        self.assertLess(time.time() - t0, TIMEOUT_MS / 1000.0 + 4)
        # the session goes on after the late fault
        later = [ans for req, ans in s.exchanges if req.method == "GetParameterValues"][1]
        self.assertEqual(later.values(), {"Device.DeviceInfo.SerialNumber": "DG0000000001"})
        self.assertTrue(is_cr(s))


if __name__ == "__main__":
    unittest.main(verbosity=2)
