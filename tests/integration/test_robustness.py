"""Bad input on every door of the real duetd, at volume: valid messages
mutated by a seeded random generator (bits flipped, bytes dropped, inserted
or repeated, the end cut off) and sent where a manager's messages go.

What must hold (the project's rule: bad input gets a protocol-correct
error, never a crash, never half-written data):
  - USP over the --usp-socket: every Record the agent sends back parses as
    a USP Record; after each batch a plain Get is answered (the agent
    lives, reconnecting when it closed a connection on a bad frame);
  - CWMP: mutated ACS requests inside real sessions get a response or a
    SOAP Fault, every CPE message still validates against the official
    schema (the test ACS checks that), and every session ends well;
  - the Connection Request listener takes garbage and still accepts a
    proper request afterwards.
The seeds are fixed: a failure reproduces.
"""
import os
import random
import socket
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ab_trial as ab  # noqa: E402
import usp_controller as uc  # noqa: E402

cw = ab.cw
INFO = "Device.DeviceInfo."
POOL = "Device.DHCPv4.Server.Pool."


def mutate(rng, data):
    """data with one to four random edits."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not b:
            b.append(rng.randrange(256))
            continue
        i = rng.randrange(len(b))
        op = rng.randrange(6)
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.randrange(256)
        elif op == 2:
            del b[i:i + rng.randint(1, 8)]
        elif op == 3:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 4:
            j = min(len(b), i + rng.randint(1, 32))
            b[i:i] = b[i:j] * rng.randint(1, 3)
        else:
            del b[i:]
    return bytes(b)


class UspRecords(uc.NeedsCase):
    """Mutated Records on the agent's UNIX socket."""

    ROUNDS = 60
    PER_ROUND = 25

    @classmethod
    def setUpClass(cls):
        cls.needs(uc.pb, uc.mtp)

    def setUp(self):
        super().setUp()
        self.agent = uc.UspAgent()
        self.addCleanup(self.agent.cleanup)
        self.agent.start()
        self.ctl = self.agent.controller()
        self.addCleanup(lambda: self.ctl.close())

    def seeds(self):
        rec = lambda m: uc.record(m.SerializeToString(), to_id=self.ctl.agent_id)  # noqa: E731
        return [
            rec(uc.get_msg("g-1", [INFO, "Device.LocalAgent.Controller.*.EndpointID"])),
            rec(uc.get_msg("g-2", [POOL + '[Enable==true].MinAddress'], max_depth=2)),
            rec(uc.set_msg("s-1", {INFO: {"ProvisioningCode": "robust.1"}})),
            rec(uc.add_msg("a-1", {POOL: {"MinAddress": "10.9.0.1", "MaxAddress": "10.9.0.9"}})),
            rec(uc.delete_msg("d-1", [POOL + "999."])),
            rec(uc.get_instances_msg("i-1", [POOL, "Device.IP.Interface."])),
            rec(uc.get_supported_dm_msg("sd-1", ["Device.LocalAgent."], first_level_only=True)),
            rec(uc.get_supported_proto_msg("sp-1", "1.0,1.4")),
            rec(uc.operate_msg("o-1", "Device.IP.Diagnostics.IPPing()", "k",
                               args={"Host": "127.0.0.1", "NumberOfRepetitions": "1", "Timeout": "100"})),
            uc.record([uc.get_msg("ss-1", [INFO]).SerializeToString()], to_id=self.ctl.agent_id, kind="session",
                      session_id=7, sequence_id=1, expected_id=1),
        ]

    def drain(self):
        """Every Record waiting, each of which must parse."""
        while True:
            try:
                data = self.ctl.t.recv(0.001)
            except uc.NoAnswer:
                return
            uc.parse_record(data)  # raises on bytes that are not a Record

    def alive(self, what):
        try:
            got = uc.get_values(self.ctl.get(INFO + "SoftwareVersion"))
        except (uc.NoAnswer, uc.Closed, OSError):
            self.ctl.close()
            self.ctl = self.agent.controller()  # a bad frame may have ended the connection
            got = uc.get_values(self.ctl.get(INFO + "SoftwareVersion"))
        self.assertIn(INFO + "SoftwareVersion", got, what)
        self.assertIsNone(self.agent.proc.poll(), "duetd died after " + what)

    def test_mutated_records(self):
        rng = random.Random(20261125)
        seeds = self.seeds()
        for r in range(self.ROUNDS):
            for _ in range(self.PER_ROUND):
                try:
                    self.ctl.send_record(mutate(rng, rng.choice(seeds)))
                    self.drain()
                except (uc.Closed, OSError):
                    self.ctl.close()
                    self.ctl = self.agent.controller()
            self.alive("round %d" % r)


class CwmpRequests(ab.AbCase):
    """Mutated ACS requests inside real CWMP sessions."""

    SESSIONS = 12
    PER_SESSION = 12

    def seeds(self):
        reqs = [cw.gpv(INFO + "Manufacturer", INFO + "SoftwareVersion"),
                cw.gpn("Device.DeviceInfo.", True),
                cw.spv([(INFO + "ProvisioningCode", "robust.2")], "rk"),
                cw.add_object(POOL, "ak"),
                cw.delete_object(POOL + "999.", "dk"),
                cw.gpa(INFO + "HostName"),
                cw.spa([(INFO + "FriendlyName", 1, None)]),
                cw.get_rpc_methods(),
                cw.get_all_queued_transfers()]
        return [(r.method, r.envelope()) for r in reqs]

    def test_mutated_requests(self):
        rng = random.Random(1125)
        seeds = self.seeds()
        for n in range(self.SESSIONS):
            script = []
            for _ in range(self.PER_SESSION):
                method, env = rng.choice(seeds)
                script.append(cw.Request(method, raw=mutate(rng, env), id=None))
            s = self.session(*script, cw.gpv(INFO + "SoftwareVersion"))
            answers = s.answers()
            self.assertEqual(len(answers), self.PER_SESSION + 1, "session %d: %s" % (n, s.log))
            for a in answers[:-1]:
                self.assertTrue(a.kind.endswith("Response") or a.kind == "Fault", "session %d: %r" % (n, a))
            self.assertIn(INFO + "SoftwareVersion", answers[-1].values(), "session %d" % n)
        self.assertIsNone(self.agent.proc.poll())

    def test_connection_request_listener_takes_garbage(self):
        rng = random.Random(7547)
        url = self.cr_url()
        host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
        good = ("GET /%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n" % (url.split("/", 3)[3], host, port)).encode()
        for _ in range(150):
            with socket.create_connection((host, int(port)), timeout=2) as c:
                try:
                    c.sendall(mutate(rng, good) if rng.random() < 0.7 else bytes(rng.randrange(256) for _ in
                                                                                  range(rng.randint(1, 300))))
                    c.shutdown(socket.SHUT_WR)
                    c.settimeout(2)
                    while c.recv(4096):
                        pass
                except (ConnectionResetError, socket.timeout, BrokenPipeError):
                    pass
        self.assertIsNone(self.agent.proc.poll(), "duetd died")
        mark = self.acs.mark()
        self.assertIn(self.connection_request().status, (200, 204))
        self.acs.wait_session(ab.is_cr, since=mark)


if __name__ == "__main__":
    unittest.main()
