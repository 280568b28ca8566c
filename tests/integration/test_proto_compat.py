"""Conformance: our proto/usp-*-1-4.proto against the Broadband Forum's files
in $SHARED/bbf (skipped when they are not there).

Both sets are compiled with `protoc --python_out` into separate directories
and each is only ever loaded in its own process by
tests/conformance/proto_compat.py (they share module and package names).
Checked: the descriptors agree field by field (name, number, type, label,
oneof, message/enum type, enum values); sample instances of every message
type, with every field set, every oneof alternative and every enum value,
encoded by one set decode with the other to the same fields, no unknown
fields and the same bytes, in both directions; and the files are our own
text (not byte-identical, no reused comment prose).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.abspath(os.environ.get("SHARED") or os.path.join(ROOT, "..", "shared"))
OFFICIAL = os.path.join(SHARED, "bbf")
OURS = os.path.join(ROOT, "proto")
HELPER = os.path.join(ROOT, "tests", "conformance", "proto_compat.py")
PROTOS = ("usp-msg-1-4.proto", "usp-record-1-4.proto")
PYTHON = "/usr/bin/python3"


def protoc_python(src_dir, out_dir):
    subprocess.run(["protoc", "--proto_path=" + src_dir, "--python_out=" + out_dir] + list(PROTOS),
                   check=True, capture_output=True, text=True)


def helper(cmd, pydir, stdin=None):
    p = subprocess.run([PYTHON, HELPER, cmd, pydir], input=stdin, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("proto_compat.py %s %s failed:\n%s" % (cmd, pydir, p.stderr))
    return json.loads(p.stdout)


def compare_descriptors(a, b, a_name="official", b_name="ours"):
    """Every difference between two `describe` outputs, one line each."""
    diffs = []
    for fname in sorted(set(a["files"]) | set(b["files"])):
        if a["files"].get(fname) != b["files"].get(fname):
            diffs.append("file %s: %s %s, %s %s" % (fname, a_name, a["files"].get(fname), b_name,
                                                   b["files"].get(fname)))
    for kind in ("messages", "enums"):
        for name in sorted(set(a[kind]) - set(b[kind])):
            diffs.append("%s: only in %s" % (name, a_name))
        for name in sorted(set(b[kind]) - set(a[kind])):
            diffs.append("%s: only in %s" % (name, b_name))
    for name in sorted(set(a["enums"]) & set(b["enums"])):
        if a["enums"][name] != b["enums"][name]:
            diffs.append("enum %s: %s %s, %s %s" % (name, a_name, a["enums"][name], b_name, b["enums"][name]))
    for name in sorted(set(a["messages"]) & set(b["messages"])):
        diffs += compare_message(name, a["messages"][name], b["messages"][name], a_name, b_name)
    return diffs


def compare_message(name, ma, mb, a_name, b_name):
    diffs = []
    if ma["map_entry"] != mb["map_entry"]:
        diffs.append("%s: map_entry differs" % name)
    if sorted(ma["oneofs"]) != sorted(mb["oneofs"]):
        diffs.append("%s: oneofs %s %s, %s %s" % (name, a_name, ma["oneofs"], b_name, mb["oneofs"]))
    fa = {f["name"]: f for f in ma["fields"]}
    fb = {f["name"]: f for f in mb["fields"]}
    for fname in sorted(set(fa) | set(fb)):
        if fname not in fb:
            diffs.append("%s.%s: only in %s" % (name, fname, a_name))
        elif fname not in fa:
            diffs.append("%s.%s: only in %s" % (name, fname, b_name))
        else:
            for key in sorted(fa[fname]):
                if fa[fname][key] != fb[fname].get(key):
                    diffs.append("%s.%s: %s %s %r, %s %r" % (name, fname, key, a_name, fa[fname][key], b_name,
                                                            fb[fname].get(key)))
    return diffs


def compare_cross(sent, received, what):
    """Differences between encoder samples and the other side's decoding."""
    diffs = []
    if len(sent) != len(received):
        return ["%s: %d samples sent, %d decoded" % (what, len(sent), len(received))]
    for s, r in zip(sent, received):
        tag = "%s %s [%s]" % (what, s["type"], s["variant"])
        if "error" in r:
            diffs.append("%s: %s" % (tag, r["error"]))
            continue
        if r["unknown"]:
            diffs.append("%s: %d unknown field(s) after decoding" % (tag, r["unknown"]))
        if r["text"] != s["text"]:
            diffs.append("%s: decoded fields differ:\n--- sent\n%s--- decoded\n%s" % (tag, s["text"], r["text"]))
        if r["wire"] != s["wire"]:
            diffs.append("%s: re-encoded bytes differ" % tag)
    return diffs


def comment_lines(path):
    """Comment text of a .proto, one stripped line each, long ones only."""
    out = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.search(r"//(.*)$", line)
            text = m.group(1).strip(" /*") if m else ""
            if len(text) >= 24:
                out.add(re.sub(r"\s+", " ", text))
    return out


class ProtoCompat(unittest.TestCase):
    tmp = None
    reason = None

    @classmethod
    def setUpClass(cls):
        missing = [p for p in PROTOS if not os.path.isfile(os.path.join(OFFICIAL, p))]
        if missing:
            cls.reason = "official protos not found in %s (%s); set SHARED" % (OFFICIAL, ", ".join(missing))
            return
        if shutil.which("protoc") is None:
            cls.reason = "protoc not installed"
            return
        cls.tmp = tempfile.mkdtemp(prefix="duet-proto-")
        cls.py_official = os.path.join(cls.tmp, "official")
        cls.py_ours = os.path.join(cls.tmp, "ours")
        for d, src in ((cls.py_official, OFFICIAL), (cls.py_ours, OURS)):
            os.mkdir(d)
            protoc_python(src, d)
        cls.desc_official = helper("describe", cls.py_official)
        cls.desc_ours = helper("describe", cls.py_ours)

    @classmethod
    def tearDownClass(cls):
        if cls.tmp:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if self.reason:
            self.skipTest(self.reason)

    def test_files_are_our_own_text(self):
        for name in PROTOS:
            with open(os.path.join(OFFICIAL, name), "rb") as f:
                theirs = f.read()
            with open(os.path.join(OURS, name), "rb") as f:
                ours = f.read()
            self.assertNotEqual(hashlib.sha1(theirs).hexdigest(), hashlib.sha1(ours).hexdigest(), name)
            shared = comment_lines(os.path.join(OFFICIAL, name)) & comment_lines(os.path.join(OURS, name))
            self.assertEqual(shared, set(), "%s reuses comment text of the official file" % name)

    def test_descriptors_match_field_by_field(self):
        diffs = compare_descriptors(self.desc_official, self.desc_ours)
        self.assertEqual(diffs, [], "\n".join(diffs))
        msgs = self.desc_ours["messages"]
        n_fields = sum(len(m["fields"]) for m in msgs.values())
        n_values = sum(len(e) for e in self.desc_ours["enums"].values())
        sys.stderr.write("\n  compared %d message types, %d fields, %d enums (%d values) ... "
                         % (len(msgs), n_fields, len(self.desc_ours["enums"]), n_values))

    def cross(self, enc_dir, dec_dir, what):
        sent = helper("encode", enc_dir)
        received = helper("decode", dec_dir, json.dumps(sent))
        diffs = compare_cross(sent, received, what)
        self.assertEqual(diffs, [], "\n".join(diffs[:20]) + ("\n... %d more" % (len(diffs) - 20)
                                                             if len(diffs) > 20 else ""))
        types = {s["type"] for s in sent}
        self.assertEqual(types, set(self.desc_official["messages"]), "%s: not every type sampled" % what)
        sys.stderr.write("\n  %s: %d samples of %d message types ... " % (what, len(sent), len(types)))

    def test_official_encodes_ours_decodes(self):
        self.cross(self.py_official, self.py_ours, "official->ours")

    def test_ours_encodes_official_decodes(self):
        self.cross(self.py_ours, self.py_official, "ours->official")

    def test_the_check_sees_a_wrong_field(self):
        """A deliberately broken copy of our record proto must be caught by
        both the descriptor compare and the wire compare."""
        src = os.path.join(self.tmp, "broken-src")
        out = os.path.join(self.tmp, "broken-py")
        os.mkdir(src)
        os.mkdir(out)
        shutil.copy(os.path.join(OURS, "usp-msg-1-4.proto"), src)
        with open(os.path.join(OURS, "usp-record-1-4.proto"), encoding="utf-8") as f:
            text = f.read()
        broken = text.replace("fixed32 reason_code = 2;", "uint32 reason_code = 2;")
        broken = broken.replace("string subscribed_topic = 2;", "string subscribed_topic = 3;")
        self.assertNotEqual(broken, text)
        with open(os.path.join(src, "usp-record-1-4.proto"), "w", encoding="utf-8") as f:
            f.write(broken)
        protoc_python(src, out)
        diffs = compare_descriptors(self.desc_official, helper("describe", out))
        self.assertTrue(any(d.startswith("usp_record.DisconnectRecord.reason_code: type") for d in diffs), diffs)
        self.assertTrue(any(d.startswith("usp_record.MQTTConnectRecord.subscribed_topic: number") for d in diffs),
                        diffs)
        received = helper("decode", out, json.dumps(helper("encode", self.py_official)))
        sent = helper("encode", self.py_official)
        wrong = {d.split(":")[0] for d in compare_cross(sent, received, "x")}
        self.assertIn("x usp_record.DisconnectRecord [base]", wrong)
        self.assertIn("x usp_record.MQTTConnectRecord [base]", wrong)


if __name__ == "__main__":
    unittest.main(verbosity=2)
