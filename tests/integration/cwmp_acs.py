"""A test ACS for duet's CWMP integration tests, and what goes with it.

Acs          an HTTP/1.1 keep-alive server on 127.0.0.1 (ephemeral port)
             that plays the ACS side of CWMP sessions: it answers each
             Inform, runs the requests a test queued for that session,
             answers the CPE's own requests (TransferComplete ...), and
             records everything (Informs, request/answer pairs, cookies and
             Authorization headers seen, the order of the exchange).
             Optional Digest (MD5, SHA-256) or Basic challenges, cookies,
             HoldRequests, failure injection (HTTP 500, a dropped
             connection), schema validation of every CPE message.
Request      one ACS request, built with lxml in the cwmp-1-0, 1-1 or 1-2
             namespace; helpers gpv(), spv(), download() ... make them.
Message      a parsed CPE message: Inform (events, parameters, DeviceId),
             responses (values(), names(), attributes() ...), Fault.
connection_request()
             an HTTP Connection Request with Digest, built by hand so that
             a test can also replay an Authorization header.
FileServer   GET and PUT over HTTP or HTTPS for Download and Upload.
TestCa       a throw-away CA and a server certificate (openssl CLI).
SchemaCheck  the official cwmp-1-x.xsd from $SHARED/bbf with the SOAP
             stand-ins of tests/cwmp/xsd; unavailable without them.

Python 3 standard library and python3-lxml only.
"""
import base64
import hashlib
import http.client
import http.server
import os
import re
import secrets
import shutil
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CWMP = {"1-0": "urn:dslforum-org:cwmp-1-0", "1-1": "urn:dslforum-org:cwmp-1-1",
        "1-2": "urn:dslforum-org:cwmp-1-2"}
CWMP_VERSION_OF = {v: k for k, v in CWMP.items()}
TIMEOUT = 15.0  # seconds to wait for anything the agent should do soon
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.abspath(os.environ.get("SHARED", os.path.join(ROOT, "..", "shared")))
STAND_INS = os.path.join(ROOT, "tests", "cwmp", "xsd")

# Methods an ACS offers to a CPE asking GetRPCMethods (TR-069 A.3.1.1).
ACS_METHODS = ("Inform", "GetRPCMethods", "TransferComplete", "AutonomousTransferComplete")


# ---------------------------------------------------------------------------
# Building ACS requests
# ---------------------------------------------------------------------------

class Array:
    """A SOAP-encoded array: arrayType "item_type[n]", items as (tag, value)."""

    def __init__(self, item_type, items):
        self.item_type = item_type
        self.items = list(items)


class Typed:
    """A value carried with an xsi:type attribute."""

    def __init__(self, value, xsi_type):
        self.value = value
        self.xsi_type = xsi_type


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _put(parent, tag, value):
    """Append <tag> to parent: value is text, Typed, Array or a list of
    (tag, value) pairs (a struct)."""
    el = etree.SubElement(parent, tag)
    if isinstance(value, Array):
        el.set("{%s}arrayType" % SOAP_ENC, "%s[%d]" % (value.item_type, len(value.items)))
        for item_tag, item in value.items:
            _put(el, item_tag, item)
    elif isinstance(value, Typed):
        el.set("{%s}type" % XSI, value.xsi_type)
        el.text = _text(value.value)
    elif isinstance(value, list):
        for sub_tag, sub in value:
            _put(el, sub_tag, sub)
    elif value is not None:
        el.text = _text(value)
    return el


def _envelope(ns):
    nsmap = {"soap-env": SOAP_ENV, "soap-enc": SOAP_ENC, "xsd": XSD, "xsi": XSI, "cwmp": ns}
    env = etree.Element("{%s}Envelope" % SOAP_ENV, nsmap=nsmap)
    header = etree.SubElement(env, "{%s}Header" % SOAP_ENV)
    body = etree.SubElement(env, "{%s}Body" % SOAP_ENV)
    return env, header, body


def _header(header, ns, name, value, must_understand=True):
    el = etree.SubElement(header, "{%s}%s" % (ns, name))
    if must_understand is not None:
        el.set("{%s}mustUnderstand" % SOAP_ENV, "1" if must_understand else "0")
    el.text = _text(value)


class Request:
    """One ACS request. args: (name, value) pairs in schema order. id: the
    cwmp:ID header (None: none); hold: the HoldRequests header (None: none);
    raw: bytes sent as they are instead of an envelope (malformed input);
    headers: more header entries, (cwmp element name, value, mustUnderstand)."""

    _ids = 0
    _lock = threading.Lock()

    def __init__(self, method, args=(), id="auto", hold=None, raw=None, headers=()):
        self.method = method
        self.headers = list(headers)
        self.args = list(args)
        if id == "auto":
            with Request._lock:
                Request._ids += 1
                id = "acs-%d" % Request._ids
        self.id = id
        self.hold = hold
        self.raw = raw

    def envelope(self, ns=CWMP["1-2"]):
        if self.raw is not None:
            return self.raw
        env, header, body = _envelope(ns)
        if self.id is not None:
            _header(header, ns, "ID", self.id)
        if self.hold is not None:
            _header(header, ns, "HoldRequests", self.hold)
        for name, value, must in self.headers:
            _header(header, ns, name, value, must)
        if not len(header):
            env.remove(header)
        _put(body, "{%s}%s" % (ns, self.method), list(self.args))
        return etree.tostring(env, xml_declaration=True, encoding="UTF-8")

    def __repr__(self):
        return "<%s %s>" % (self.method, self.id)


def _strings(names):
    return Array("xsd:string", [("string", n) for n in names])


def get_rpc_methods(**kw):
    return Request("GetRPCMethods", **kw)


def gpv(*names, **kw):
    return Request("GetParameterValues", [("ParameterNames", _strings(names))], **kw)


def gpn(path, next_level, **kw):
    return Request("GetParameterNames", [("ParameterPath", path), ("NextLevel", bool(next_level))], **kw)


def spv(params, key="", **kw):
    """params: (name, value) or (name, value, xsi_type) tuples."""
    items = []
    for p in params:
        name, value, xsi_type = (tuple(p) + ("xsd:string",))[:3]
        items.append(("ParameterValueStruct", [("Name", name), ("Value", Typed(value, xsi_type))]))
    return Request("SetParameterValues", [("ParameterList", Array("cwmp:ParameterValueStruct", items)),
                                          ("ParameterKey", key)], **kw)


def spa(entries, **kw):
    """entries: (name, notification or None, access list or None); None
    leaves that attribute unchanged."""
    items = []
    for name, notification, access in entries:
        items.append(("SetParameterAttributesStruct", [
            ("Name", name),
            ("NotificationChange", notification is not None),
            ("Notification", notification if notification is not None else 0),
            ("AccessListChange", access is not None),
            ("AccessList", _strings(access or ()))]))
    return Request("SetParameterAttributes",
                   [("ParameterList", Array("cwmp:SetParameterAttributesStruct", items))], **kw)


def gpa(*names, **kw):
    return Request("GetParameterAttributes", [("ParameterNames", _strings(names))], **kw)


def add_object(name, key="", **kw):
    return Request("AddObject", [("ObjectName", name), ("ParameterKey", key)], **kw)


def delete_object(name, key="", **kw):
    return Request("DeleteObject", [("ObjectName", name), ("ParameterKey", key)], **kw)


def reboot(key="", **kw):
    return Request("Reboot", [("CommandKey", key)], **kw)


def factory_reset(**kw):
    return Request("FactoryReset", **kw)


def schedule_inform(delay, key="", **kw):
    return Request("ScheduleInform", [("DelaySeconds", delay), ("CommandKey", key)], **kw)


def download(url, file_type, key="", username="", password="", size=0, target="", delay=0, **kw):
    return Request("Download", [
        ("CommandKey", key), ("FileType", file_type), ("URL", url), ("Username", username),
        ("Password", password), ("FileSize", size), ("TargetFileName", target),
        ("DelaySeconds", delay), ("SuccessURL", ""), ("FailureURL", "")], **kw)


def upload(url, file_type, key="", username="", password="", delay=0, **kw):
    return Request("Upload", [
        ("CommandKey", key), ("FileType", file_type), ("URL", url), ("Username", username),
        ("Password", password), ("DelaySeconds", delay)], **kw)


def schedule_download(url, file_type, windows, key="", username="", password="", size=0, target="", **kw):
    """windows: (start, end, mode, user message, max retries) tuples, times
    in seconds from now, mode e.g. "1 At Any Time"."""
    items = [("TimeWindowStruct", [("WindowStart", w[0]), ("WindowEnd", w[1]), ("WindowMode", w[2]),
                                   ("UserMessage", w[3]), ("MaxRetries", w[4])]) for w in windows]
    return Request("ScheduleDownload", [
        ("CommandKey", key), ("FileType", file_type), ("URL", url), ("Username", username),
        ("Password", password), ("FileSize", size), ("TargetFileName", target),
        ("TimeWindowList", Array("cwmp:TimeWindowStruct", items))], **kw)


def cancel_transfer(key, **kw):
    return Request("CancelTransfer", [("CommandKey", key)], **kw)


def get_queued_transfers(**kw):
    return Request("GetQueuedTransfers", **kw)


def get_all_queued_transfers(**kw):
    return Request("GetAllQueuedTransfers", **kw)


def firmware_image(version, name=None, payload=b"duet firmware payload\n"):
    """An image in duet's format: a "DUET-FIRMWARE 1" line, key=value lines,
    a blank line, the payload."""
    head = "DUET-FIRMWARE 1\nversion=%s\n" % version
    if name:
        head += "name=%s\n" % name
    return head.encode() + b"\n" + payload


# ---------------------------------------------------------------------------
# Parsing CPE messages
# ---------------------------------------------------------------------------

def _local(tag):
    return etree.QName(tag).localname


def _decode(el):
    """Element to Python: arrays to lists, structs to dicts, leaves to text."""
    if el.get("{%s}arrayType" % SOAP_ENC) is not None:
        return [_decode(c) for c in el if isinstance(c.tag, str)]
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        return el.text or ""
    out = {}
    for c in children:
        key, val = _local(c.tag), _decode(c)
        if isinstance(out.get(key), _Repeated):
            out[key].append(val)
        elif key in out:
            out[key] = _Repeated([out[key], val])
        else:
            out[key] = val
    return out


class _Repeated(list):
    repeated = True


class Fault:
    """A SOAP fault carrying a CWMP fault."""

    def __init__(self, body):
        self.faultcode = self.faultstring = ""
        self.code, self.string, self.spv = None, "", []
        self.detail = None
        for c in body:
            name = _local(c.tag) if isinstance(c.tag, str) else ""
            if name == "faultcode":
                self.faultcode = c.text or ""
            elif name == "faultstring":
                self.faultstring = c.text or ""
            elif name == "detail":
                cw = [d for d in c if isinstance(d.tag, str) and _local(d.tag) == "Fault"]
                if cw:
                    self.detail = cw[0]
                    self._cwmp(_decode(cw[0]))

    def _cwmp(self, d):
        self.code = int(d.get("FaultCode", "0") or 0)
        self.string = d.get("FaultString", "")
        entries = d.get("SetParameterValuesFault", [])
        if isinstance(entries, dict):
            entries = [entries]
        self.spv = [(e.get("ParameterName", ""), int(e.get("FaultCode", "0") or 0), e.get("FaultString", ""))
                    for e in entries]

    def __repr__(self):
        return "<Fault %s %r %r>" % (self.code, self.string, self.spv)


class ParseError(Exception):
    pass


class Message:
    """One CPE message. kind: the RPC element's local name ("Inform",
    "GetParameterValuesResponse" ...), "Fault", or "" for an empty POST."""

    def __init__(self, raw):
        self.raw = raw
        self.kind, self.ns, self.id, self.hold = "", None, None, None
        self.headers, self.header_attrs = {}, {}
        self.body, self.data, self.fault, self.doc = None, None, None, None
        if not raw.strip():
            return
        try:
            self.doc = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as e:
            raise ParseError("not well-formed XML: %s" % e)
        if self.doc.tag != "{%s}Envelope" % SOAP_ENV:
            raise ParseError("root element is %s, not a SOAP 1.1 Envelope" % self.doc.tag)
        for part in self.doc:
            if not isinstance(part.tag, str):
                continue
            if part.tag == "{%s}Header" % SOAP_ENV:
                for h in part:
                    if isinstance(h.tag, str):
                        self.headers[_local(h.tag)] = h.text or ""
                        self.header_attrs[_local(h.tag)] = dict(h.attrib)
                        self.ns = self.ns or etree.QName(h.tag).namespace
            elif part.tag == "{%s}Body" % SOAP_ENV:
                kids = [c for c in part if isinstance(c.tag, str)]
                if len(kids) != 1:
                    raise ParseError("Body holds %d elements, not one" % len(kids))
                self.body = kids[0]
        if self.body is None:
            raise ParseError("no Body")
        qn = etree.QName(self.body.tag)
        self.id = self.headers.get("ID")
        self.hold = self.headers.get("HoldRequests")
        if qn.namespace == SOAP_ENV and qn.localname == "Fault":
            self.kind = "Fault"
            self.fault = Fault(self.body)
            if self.fault.detail is not None:
                self.ns = self.ns or etree.QName(self.fault.detail.tag).namespace
        else:
            self.kind = qn.localname
            self.ns = qn.namespace
            self.data = _decode(self.body)
            if not isinstance(self.data, dict):
                self.data = {}

    def __repr__(self):
        return "<%s %s>" % (self.kind or "empty", self.id or "")

    @property
    def version(self):
        return CWMP_VERSION_OF.get(self.ns)

    def _list(self, key):
        v = self.data.get(key, []) if self.data else []
        return v if isinstance(v, list) else [v] if isinstance(v, dict) else []

    # --- Inform ---------------------------------------------------------
    @property
    def events(self):
        """[(EventCode, CommandKey)] in the order sent."""
        return [(e.get("EventCode", ""), e.get("CommandKey", "")) for e in self._list("Event")]

    @property
    def event_codes(self):
        return [code for code, _ in self.events]

    def has(self, code, key=None):
        """Whether the Inform carries that EventCode (with that CommandKey)."""
        return any(c == code and (key is None or k == key) for c, k in self.events)

    @property
    def device_id(self):
        return self.data.get("DeviceId", {})

    @property
    def retry_count(self):
        return int(self.data.get("RetryCount", "-1"))

    @property
    def params(self):
        """ParameterList of an Inform or a GPV response: {Name: Value}."""
        return {p.get("Name", ""): p.get("Value", "") for p in self._list("ParameterList")}

    def param_list(self):
        return [p.get("Name", "") for p in self._list("ParameterList")]

    def types(self):
        """{Name: xsi:type} of a ParameterList."""
        out = {}
        for s in self.body.iter("ParameterValueStruct"):
            name, value = s.find("Name"), s.find("Value")
            out[name.text if name is not None else ""] = value.get("{%s}type" % XSI) if value is not None else None
        return out

    # --- responses ------------------------------------------------------
    def values(self):
        return self.params

    def names(self):
        """GetParameterNamesResponse: {Name: writable bool}."""
        return {p.get("Name", ""): p.get("Writable", "") in ("1", "true") for p in self._list("ParameterList")}

    def attributes(self):
        """GetParameterAttributesResponse: {Name: (Notification, [AccessList])}."""
        out = {}
        for p in self._list("ParameterList"):
            acl = p.get("AccessList", [])
            out[p.get("Name", "")] = (int(p.get("Notification", "0") or 0), acl if isinstance(acl, list) else [])
        return out

    def methods(self):
        return [m for m in self._list("MethodList") if isinstance(m, str)]

    def transfers(self):
        return self._list("TransferList")

    def get(self, key, default=None):
        return self.data.get(key, default) if self.data else default


# ---------------------------------------------------------------------------
# Schema validation
# ---------------------------------------------------------------------------

class Unavailable(Exception):
    """Something optional is missing here (the schemas, openssl)."""


class _MapResolver(etree.Resolver):
    def __init__(self, mapping):
        super().__init__()
        self.mapping = mapping

    def resolve(self, url, pubid, context):
        path = self.mapping.get(url)
        return self.resolve_filename(path, context) if path else None


class SchemaCheck:
    """Validates CPE envelopes against the official cwmp-1-x.xsd of
    $SHARED/bbf; the SOAP namespaces come from the stand-ins in
    tests/cwmp/xsd (validate.xsd is the entry point for 1-2). The stand-in
    envelope declares no SOAP Fault, so a fault's detail/cwmp:Fault is
    validated on its own."""

    def __init__(self, shared=SHARED):
        self.schemas = {}
        bbf = os.path.join(shared, "bbf")
        if not os.path.exists(os.path.join(bbf, "cwmp-1-2.xsd")):
            raise Unavailable("no official CWMP schemas in %s (set SHARED): CPE messages not validated" % bbf)
        base = {SOAP_ENV: os.path.join(STAND_INS, "soap-envelope.xsd"),
                SOAP_ENC: os.path.join(STAND_INS, "soap-encoding.xsd")}
        for version, ns in CWMP.items():
            url = "http://www.broadband-forum.org/cwmp/cwmp-%s.xsd" % version
            mapping = dict(base)
            mapping[url] = os.path.join(bbf, "cwmp-%s.xsd" % version)
            parser = etree.XMLParser(no_network=True)
            parser.resolvers.add(_MapResolver(mapping))
            if version == "1-2":
                doc = etree.parse(os.path.join(STAND_INS, "validate.xsd"), parser)
            else:
                doc = etree.fromstring(
                    ('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
                     '<xs:import namespace="%s" schemaLocation="%s"/>'
                     '<xs:import namespace="%s" schemaLocation="%s"/></xs:schema>'
                     % (SOAP_ENV, SOAP_ENV, ns, url)).encode(), parser,
                    base_url=os.path.join(STAND_INS, "wrapper-%s.xsd" % version)).getroottree()
            self.schemas[ns] = etree.XMLSchema(doc)

    def check(self, msg):
        """None when msg is valid (or not validated), else the errors."""
        if msg.doc is None:
            return None
        if msg.kind == "Fault" and msg.fault.detail is None:
            return None  # a bare SOAP fault (MustUnderstand): no CWMP part to check
        schema = self.schemas.get(msg.ns)
        if schema is None:
            return "namespace %r is not a CWMP namespace" % msg.ns
        if msg.kind == "Fault":
            target = etree.fromstring(etree.tostring(msg.fault.detail))
        else:
            target = msg.doc
        if schema.validate(target):
            return None
        return "; ".join("line %d: %s" % (e.line, e.message) for e in schema.error_log)

    def check_bytes(self, raw):
        return self.check(Message(raw))


_schema = None


def schema_check():
    """The shared SchemaCheck, or raises Unavailable."""
    global _schema
    if _schema is None:
        _schema = SchemaCheck()
    return _schema


# ---------------------------------------------------------------------------
# HTTP authentication
# ---------------------------------------------------------------------------

_HASHES = {"MD5": hashlib.md5, "MD5-SESS": hashlib.md5, "SHA-256": hashlib.sha256,
           "SHA-256-SESS": hashlib.sha256}


def parse_auth(header):
    """'Digest a=1, b="x"' -> ("digest", {"a": "1", "b": "x"}); Basic -> ("basic", token)."""
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        return scheme, rest.strip()
    fields = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)', rest):
        fields[m.group(1).lower()] = m.group(3).replace('\\"', '"') if m.group(3) is not None else m.group(2)
    return scheme, fields


def digest_response(algorithm, username, realm, password, method, uri, nonce, nc, cnonce, qop):
    alg = (algorithm or "MD5").upper()

    def h(s):
        return _HASHES[alg](s.encode()).hexdigest()

    ha1 = h("%s:%s:%s" % (username, realm, password))
    if alg.endswith("-SESS"):
        ha1 = h("%s:%s:%s" % (ha1, nonce, cnonce))
    ha2 = h("%s:%s" % (method, uri))
    if qop:
        return h("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))
    return h("%s:%s:%s" % (ha1, nonce, ha2))


def digest_authorization(challenge, username, password, method, uri, nc=1, cnonce=None):
    """The Authorization header answering a parsed Digest challenge."""
    alg = challenge.get("algorithm", "MD5")
    qop = "auth" if "auth" in [q.strip() for q in challenge.get("qop", "").split(",")] else ""
    cnonce = cnonce or secrets.token_hex(8)
    ncs = "%08x" % nc
    resp = digest_response(alg, username, challenge["realm"], password, method, uri, challenge["nonce"],
                           ncs, cnonce, qop)
    parts = ['username="%s"' % username, 'realm="%s"' % challenge["realm"], 'nonce="%s"' % challenge["nonce"],
             'uri="%s"' % uri, 'response="%s"' % resp, "algorithm=%s" % alg]
    if qop:
        parts += ["qop=%s" % qop, "nc=%s" % ncs, 'cnonce="%s"' % cnonce]
    if "opaque" in challenge:
        parts.append('opaque="%s"' % challenge["opaque"])
    return "Digest " + ", ".join(parts)


# ---------------------------------------------------------------------------
# The ACS
# ---------------------------------------------------------------------------

class Session:
    """One CWMP session as the ACS saw it.
    inform       the Inform (Message)
    exchanges    [(Request, Message answer)] in order
    cpe_requests the CPE's own requests (TransferComplete ...)
    posts        per POST: {"kind", "content_type", "soapaction", "cookie", "authorization"}
    log          the exchange in order: ("cpe", kind) and ("acs", method or "", hold)
    outcome      None while running, "ok" once the ACS sent its empty
                 response, "abandoned" when another Inform came first"""

    def __init__(self, inform, script, hold_inform):
        self.inform = inform
        self.script = list(script)
        self.hold_inform = hold_inform
        self.exchanges = []
        self.cpe_requests = []
        self.posts = []
        self.log = [("cpe", "Inform")]
        self.outcome = None
        self.outstanding = None

    def __repr__(self):
        return "<Session %s %s>" % (self.inform.event_codes, self.outcome)

    @property
    def events(self):
        return self.inform.events

    @property
    def event_codes(self):
        return self.inform.event_codes

    def has(self, code, key=None):
        return self.inform.has(code, key)

    @property
    def params(self):
        return self.inform.params

    def answer(self, method):
        """The CPE's answer to the first request of that method."""
        for req, ans in self.exchanges:
            if req.method == method:
                return ans
        raise KeyError("no %s in this session (%s)" % (method, [r.method for r, _ in self.exchanges]))

    def answers(self):
        return [a for _, a in self.exchanges]

    def requests_of(self, kind):
        return [m for m in self.cpe_requests if m.kind == kind]


class Attempt:
    """An Inform POST, whatever became of it: outcome "ok", "401", or the
    failure injected ("500", "drop", "fault")."""

    def __init__(self, inform, authorization):
        self.inform = inform
        self.authorization = authorization
        self.outcome = None

    def __repr__(self):
        return "<Attempt %s retry=%s %s>" % (self.inform.event_codes, self.inform.retry_count, self.outcome)


def read_body(handler):
    """The request body of a BaseHTTPRequestHandler: Content-Length or chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        data = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline().strip():
                    pass
                return data
            data += handler.rfile.read(size)
            handler.rfile.readline()
    n = int(handler.headers.get("Content-Length", "0") or 0)
    return handler.rfile.read(n) if n else b""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # a CPE that restarts or gives up mid-exchange resets its connection:
        # part of the tests, not worth a traceback
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)


class _AcsHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        body = read_body(self)
        reply = self.server.acs._post(self, body)
        if reply is None:  # failure injection: close without an answer
            self.close_connection = True
            return
        status, headers, payload = reply
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def do_GET(self):
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Acs:
    """The test ACS. Use as a context manager or call close().

    ns        the namespace of the ACS's messages: "1-0", "1-1", "1-2", or
              None to answer in the namespace of the CPE's Inform
    auth      None, "digest" (algorithms: "MD5", "SHA-256" or both),
              or "basic"; username/password are what the ACS accepts
    cookies   Set-Cookie values sent with every InformResponse
    validate  check every CPE message against the official schema (when
              SHARED holds it; see schema_note)
    Records: sessions (Session), attempts (every Inform and its outcome),
    posts (every POST, as in Session.posts), errors (protocol breaches)."""

    def __init__(self, ns=None, auth=None, algorithms=("MD5",), username="duet", password="duet",
                 realm="duet-acs", cookies=(), path="/acs", validate=True):
        self.ns = ns
        self.auth = auth
        self.algorithms = tuple(algorithms)
        self.username = username
        self.password = password
        self.realm = realm
        self.cookies = list(cookies)
        self.path = path
        self.cond = threading.Condition()
        self.sessions = []
        self.attempts = []
        self.posts = []
        self.errors = []
        self.scripts = []
        self.failures = []
        self.nonces = set()
        self.cpe_request_failures = {}
        self.current = None
        self.cursor = 0
        self.explain = None  # callable giving more text for a timeout (the agent's log)
        self.schema = None
        self.schema_note = None
        if validate:
            try:
                self.schema = schema_check()
            except Unavailable as e:
                self.schema_note = str(e)
        self.server = _Server(("127.0.0.1", 0), _AcsHandler)
        self.server.acs = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d%s" % (self.port, self.path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- what tests ask for ------------------------------------------------
    def next_session(self, *requests, hold_inform=False):
        """Queue a script for the next session without one: its requests in
        order, each a Request or a callable(session) giving one (or None to
        skip). hold_inform puts HoldRequests true on the InformResponse."""
        with self.cond:
            self.scripts.append((list(requests), hold_inform))

    def fail_next(self, n=1, how="500", when=None):
        """The next n Informs (those for which when(inform) is true, if
        given) fail: "500" (HTTP 500), "drop" (connection closed without an
        answer) or "fault" (SOAP fault 8002)."""
        with self.cond:
            self.failures += [(how, when)] * n

    def fail_cpe_request(self, kind, *outcomes):
        """The next CPE requests of that kind (e.g. "TransferComplete") get,
        in turn, an ACS fault (an int such as 8005) or "drop" (the
        connection closed without an answer)."""
        with self.cond:
            self.cpe_request_failures.setdefault(kind, []).extend(outcomes)

    def wait_for(self, pred, timeout=TIMEOUT, what="condition"):
        """Wait until pred(acs) holds (evaluated under the ACS's lock)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s not met within %.0f s; sessions: %s%s" % (what, timeout, self.sessions,
                                                                                        self._more()))
                self.cond.wait(left)

    def mark(self):
        """A position for wait_session(since=...): sessions after now."""
        with self.cond:
            return len(self.sessions)

    def wait_session(self, pred=None, timeout=TIMEOUT, since=None):
        """The first session at index >= since (default: after the last one
        this returned) that ended well and satisfies pred."""
        deadline = time.monotonic() + timeout
        with self.cond:
            start = self.cursor if since is None else since
            while True:
                for i in range(start, len(self.sessions)):
                    s = self.sessions[i]
                    if s.outcome == "ok" and (pred is None or pred(s)):
                        self.cursor = i + 1
                        return s
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no matching session within %.0f s; sessions: %s; attempts: %s%s"
                                         % (timeout, self.sessions[start:], self.attempts[-5:], self._more()))
                self.cond.wait(left)

    def wait_attempt(self, pred, timeout=TIMEOUT, since=0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for a in self.attempts[since:]:
                    if a.outcome and pred(a):
                        return a
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no matching attempt within %.0f s: %s%s" % (timeout, self.attempts,
                                                                                        self._more()))
                self.cond.wait(left)

    def _more(self):
        return "\n" + self.explain() if self.explain else ""

    def sessions_since(self, since):
        with self.cond:
            return list(self.sessions[since:])

    # --- the exchange -------------------------------------------------------
    def _error(self, text):
        self.errors.append(text)

    def _reply(self, msg_ns, req, extra_headers=()):
        ns = CWMP[self.ns] if self.ns else (msg_ns or CWMP["1-2"])
        return 200, [("Content-Type", 'text/xml; charset="utf-8"')] + list(extra_headers), req.envelope(ns)

    def _challenge(self):
        if self.auth == "basic":
            return [("WWW-Authenticate", 'Basic realm="%s"' % self.realm)]
        out = []
        for alg in self.algorithms:
            nonce = secrets.token_hex(16)
            self.nonces.add(nonce)
            out.append(("WWW-Authenticate", 'Digest realm="%s", qop="auth", nonce="%s", opaque="%s", algorithm=%s'
                        % (self.realm, nonce, secrets.token_hex(4), alg)))
        return out

    def _authorized(self, header, method):
        if not header:
            return False
        scheme, fields = parse_auth(header)
        if self.auth == "basic":
            want = base64.b64encode(("%s:%s" % (self.username, self.password)).encode()).decode()
            return scheme == "basic" and fields == want
        if scheme != "digest" or fields.get("nonce") not in self.nonces:
            return False
        alg = fields.get("algorithm", "MD5")
        if alg.upper() not in [a.upper() for a in self.algorithms] or fields.get("username") != self.username:
            return False
        want = digest_response(alg, self.username, self.realm, self.password, method, fields.get("uri", ""),
                               fields["nonce"], fields.get("nc", ""), fields.get("cnonce", ""),
                               fields.get("qop", ""))
        return fields.get("response") == want

    def _post(self, handler, body):
        with self.cond:
            try:
                return self._post_locked(handler, body)
            finally:
                self.cond.notify_all()

    def _post_locked(self, handler, body):
        h = handler.headers
        post = {"content_type": h.get("Content-Type", ""), "soapaction": h.get("SOAPAction"),
                "cookie": h.get("Cookie"), "authorization": h.get("Authorization"), "path": handler.path}
        try:
            msg = Message(body)
        except ParseError as e:
            self._error("undecodable CPE message (%s): %r" % (e, body[:300]))
            return 400, [], b""
        post["kind"] = msg.kind
        self.posts.append(post)
        if msg.kind and "text/xml" not in post["content_type"]:
            self._error("%s posted with Content-Type %r" % (msg.kind, post["content_type"]))
        if self.schema and msg.kind:
            problem = self.schema.check(msg)
            if problem:
                self._error("%s does not validate: %s\n%s" % (msg.kind, problem[:1000],
                                                                 body.decode(errors="replace")[:1500]))
        if self.auth and (msg.kind == "Inform" or self.current is None or self.current.outcome is not None):
            # a new session, or a POST that cannot belong to one: who is it?
            if not self._authorized(post["authorization"], "POST"):
                if msg.kind == "Inform":
                    self.attempts.append(Attempt(msg, post["authorization"]))
                    self.attempts[-1].outcome = "401"
                return 401, self._challenge(), b""
        if msg.kind == "Inform":
            return self._inform(msg, post)
        s = self.current
        if s is None or s.outcome is not None and msg.kind == "":
            self._error("%s posted outside a session" % (msg.kind or "empty POST"))
            return 400, [], b""
        s.posts.append(post)
        s.log.append(("cpe", msg.kind))
        if msg.kind == "":
            if s.outstanding is not None:
                self._error("empty POST while %s is unanswered" % s.outstanding.method)
            return self._next(s, msg)
        if msg.kind == "Fault" or msg.kind.endswith("Response"):
            if s.outstanding is None:
                self._error("%s without an outstanding ACS request" % msg.kind)
            else:
                req = s.outstanding
                if msg.kind != "Fault" and msg.kind != req.method + "Response":
                    self._error("%s answers %s" % (msg.kind, req.method))
                s.exchanges.append((req, msg))
                s.outstanding = None
            return self._next(s, msg)
        return self._cpe_request(s, msg)

    def _inform(self, msg, post):
        attempt = Attempt(msg, post["authorization"])
        self.attempts.append(attempt)
        failure = next((f for f in self.failures if f[1] is None or f[1](msg)), None)
        if failure:
            self.failures.remove(failure)
            how = attempt.outcome = failure[0]
            if how == "drop":
                return None
            if how == "fault":
                return self._fault_reply(msg, 8002, "Internal error")
            return 500, [], b""
        attempt.outcome = "ok"
        if self.current is not None and self.current.outcome is None:
            self.current.outcome = "abandoned"
        script, hold = self.scripts.pop(0) if self.scripts else ([], False)
        s = Session(msg, script, hold)
        s.posts.append(post)
        self.current = s
        self.sessions.append(s)
        req = Request("InformResponse", [("MaxEnvelopes", 1)], id=msg.id, hold=True if hold else None)
        s.log.append(("acs", "InformResponse", bool(hold)))
        cookies = [("Set-Cookie", c) for c in self.cookies]
        return self._reply(msg.ns, req, cookies)

    def _fault_reply(self, msg, code, text):
        ns = CWMP[self.ns] if self.ns else (msg.ns or CWMP["1-2"])
        env, header, body = _envelope(ns)
        if msg.id is not None:
            _header(header, ns, "ID", msg.id)
        f = etree.SubElement(body, "{%s}Fault" % SOAP_ENV)
        _put(f, "faultcode", "Server")
        _put(f, "faultstring", "CWMP fault")
        detail = etree.SubElement(f, "detail")
        _put(detail, "{%s}Fault" % ns, [("FaultCode", code), ("FaultString", text)])
        return 200, [("Content-Type", 'text/xml; charset="utf-8"')], etree.tostring(env, xml_declaration=True,
                                                                                    encoding="UTF-8")

    def _cpe_request(self, s, msg):
        s.cpe_requests.append(msg)
        if s.outcome == "ok":
            s.outcome = None  # the CPE had more to say after our empty answer
        pending = self.cpe_request_failures.get(msg.kind)
        if pending:
            how = pending.pop(0)
            s.log.append(("acs", "Fault" if how != "drop" else "drop", False))
            if how == "drop":
                return None
            return self._fault_reply(msg, how, "refused by the test ACS")
        if msg.kind == "GetRPCMethods":
            args = [("MethodList", _strings(ACS_METHODS))]
        elif msg.kind == "Kicked":
            args = [("NextURL", "")]
        else:
            args = []
        s.log.append(("acs", msg.kind + "Response", False))
        return self._reply(msg.ns, Request(msg.kind + "Response", args, id=msg.id))

    def _next(self, s, msg):
        while s.script:
            item = s.script.pop(0)
            req = item(s) if callable(item) else item
            if req is None:
                continue
            s.outstanding = req
            s.log.append(("acs", req.method, bool(req.hold)))
            return self._reply(msg.ns or s.inform.ns, req)
        s.log.append(("acs", "", False))
        s.outcome = "ok"
        return 204, [], b""


# ---------------------------------------------------------------------------
# Connection Requests
# ---------------------------------------------------------------------------

class CrResult:
    def __init__(self, status, headers, authorization):
        self.status = status
        self.headers = headers
        self.authorization = authorization

    def __repr__(self):
        return "<CR %d>" % self.status


def http_get(url, authorization=None, timeout=10):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        headers = {"Authorization": authorization} if authorization else {}
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        r.read()
        return r.status, r.msg, path
    finally:
        conn.close()


def connection_request(url, username, password, algorithm=None, timeout=10):
    """An HTTP Connection Request: an unauthenticated GET, then the same GET
    answering the agent's Digest challenge (algorithm: the one to pick among
    several challenges; None = the first). Returns CrResult (the final
    status and the Authorization header sent, for replay)."""
    status, headers, path = http_get(url, timeout=timeout)
    if status != 401:
        return CrResult(status, headers, None)
    challenges = [parse_auth(v)[1] for v in headers.get_all("WWW-Authenticate") or []
                  if v.strip().lower().startswith("digest")]
    if not challenges:
        raise AssertionError("401 without a Digest challenge: %s" % headers.get_all("WWW-Authenticate"))
    pick = challenges[0]
    if algorithm:
        matching = [c for c in challenges if c.get("algorithm", "MD5").upper() == algorithm.upper()]
        if not matching:
            raise AssertionError("no %s challenge among %s" % (algorithm, challenges))
        pick = matching[0]
    auth = digest_authorization(pick, username, password, "GET", path)
    status, headers, _ = http_get(url, auth, timeout=timeout)
    return CrResult(status, headers, auth)


def replay(url, authorization, timeout=10):
    """The GET again with an Authorization header already used."""
    status, headers, _ = http_get(url, authorization, timeout=timeout)
    return CrResult(status, headers, authorization)


# ---------------------------------------------------------------------------
# File server for Download and Upload
# ---------------------------------------------------------------------------

class _FileHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _done(self, status, payload=b"", ctype="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def do_GET(self):
        fs = self.server.files
        with fs.cond:
            fs.log.append((self.command, self.path, dict(self.headers)))
            data = fs.files.get(urllib.parse.urlsplit(self.path).path)
            fs.cond.notify_all()
        self._done(200, data) if data is not None else self._done(404, b"not found\n", "text/plain")

    do_HEAD = do_GET

    def _store(self):
        fs = self.server.files
        data = read_body(self)
        with fs.cond:
            fs.log.append((self.command, self.path, dict(self.headers)))
            fs.uploads[urllib.parse.urlsplit(self.path).path] = data
            fs.cond.notify_all()
        self._done(201)

    do_PUT = _store
    do_POST = _store


class FileServer:
    """Serves files[path] = bytes on GET, stores PUT/POST bodies in
    uploads[path]; log holds (method, path, headers). tls: an
    ssl.SSLContext for https."""

    def __init__(self, tls=None):
        self.files = {}
        self.uploads = {}
        self.log = []
        self.cond = threading.Condition()
        self.tls = tls
        self.server = _Server(("127.0.0.1", 0), _FileHandler)
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.files = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path):
        return "%s://127.0.0.1:%d%s" % ("https" if self.tls else "http", self.port, path)

    def wait_upload(self, path, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while path not in self.uploads:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("nothing uploaded to %s; requests: %s" % (path, self.log))
                self.cond.wait(left)
            return self.uploads[path]

    def gets(self, path):
        with self.cond:
            return [e for e in self.log if e[0] == "GET" and urllib.parse.urlsplit(e[1]).path == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TestCa:
    """A throw-away CA and a server certificate for 127.0.0.1 (EC P-256,
    PEM), made with the openssl CLI: ca (the CA certificate), cert, key."""

    def __init__(self):
        if not shutil.which("openssl"):
            raise Unavailable("openssl CLI not found (apt-get install openssl)")
        self.dir = tempfile.mkdtemp(prefix="duet-cwmp-ca-")
        self.ca = os.path.join(self.dir, "ca.pem")
        self.cert = os.path.join(self.dir, "server.pem")
        self.key = os.path.join(self.dir, "server.key")
        key_args = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
        self._openssl("req", "-x509", *key_args, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                      "-subj", "/CN=duet cwmp test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        with open(os.path.join(self.dir, "server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        self._openssl("req", "-new", *key_args, "-keyout", "server.key", "-out", "server.csr",
                      "-subj", "/CN=127.0.0.1")
        self._openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                      "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem")

    def _openssl(self, *args):
        p = subprocess.run(("openssl",) + args, capture_output=True, text=True, cwd=self.dir)
        if p.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" % (args[0], p.stderr.strip()))

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
