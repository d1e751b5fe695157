"""Real Grafana Tempo / Loki backends for end-to-end tests, on loopback.

The binaries are built from their Go modules by tests/backends/build.sh into
a cache outside the repository (see ensure_built). A backend runs as a child
process with a config rendered from tests/backends/<name>.yaml into a
temporary directory that also holds its storage and its log.

    tempo = Tempo(ensure_built("tempo"))
    tempo.start(tmpdir)
    tempo.post_otlp_json(payload)
    trace = tempo.get_trace(trace_id_hex, timeout=30)
    tempo.stop()

Only the Python standard library is used.
"""

import atexit
import base64
import binascii
import ctypes
import json
import os
import signal
import socket
import ssl
import string
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BACKENDS_DIR = REPO / "tests" / "backends"
LOOPBACK = "127.0.0.1"

_built = {}
_live = set()  # started backends, stopped at interpreter exit


@atexit.register
def _stop_all():
    for b in list(_live):
        b.stop()


def _die_with_parent():
    """In the child: get SIGKILL when the test process dies, so a crashed
    or killed pytest never leaves a backend running."""
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class BackendError(RuntimeError):
    """A backend failed to build, start, or answer in time."""


def ensure_built(name):
    """Build backend `name` once (cached on disk); return the binary path.
    build.sh's progress is echoed to stderr as it comes."""
    if name in _built:
        return _built[name]
    script = BACKENDS_DIR / "build.sh"
    t0 = time.monotonic()
    proc = subprocess.Popen(["bash", str(script), name], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tail = []
    for line in proc.stderr:
        if not line.startswith("go: downloading"):
            sys.stderr.write(line)
        tail = (tail + [line.rstrip()])[-40:]
    out = proc.stdout.read()
    if proc.wait() != 0:
        tail = "\n".join(tail)
        raise BackendError(f"build.sh {name} failed "
                           f"(exit {proc.returncode}):\n{tail}")
    lines = out.strip().splitlines()
    binary = lines[-1] if lines else ""
    if not os.access(binary, os.X_OK):
        raise BackendError(f"build.sh {name} printed no binary: {out!r}")
    took = time.monotonic() - t0
    if took > 5:
        print(f"backends: built {name} in {took:.0f}s", file=sys.stderr)
    _built[name] = binary
    return binary


def free_ports(count):
    """Return `count` distinct currently-free TCP ports on loopback."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def http_request(url, method="GET", body=None, headers=None, timeout=10,
                 context=None):
    """Send one request; return (status, body bytes). Never raises on
    HTTP error statuses; connection failures give status 0. context: an
    ssl.SSLContext for an https url (a private CA, a client certificate)."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout,
                                    context=context) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e).encode()


def poll(fn, timeout, interval=0.5, what="condition"):
    """Call fn() until it returns something truthy or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Backend:
    """A backend process: config rendering, start/stop/pause, log capture."""

    name = None
    port_names = ()
    ready_path = "/ready"
    stop_grace = 30  # seconds between SIGTERM and SIGKILL

    def __init__(self, binary=None):
        self.binary = binary or ensure_built(self.name)
        self.ssl_context = None  # set by a backend serving its API on https
        self.proc = None
        self.dir = None
        self.ports = {}
        self.paused = False
        self.startup_seconds = None

    # -- lifecycle ---------------------------------------------------------

    def start(self, tmpdir, ports=None, ready_timeout=120):
        """Render the config into `tmpdir`, start, wait for /ready.
        Ports not given in `ports` are picked free on loopback."""
        self.dir = Path(tmpdir)
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        chosen = dict(ports or {})
        missing = [p for p in self.port_names if p not in chosen]
        chosen.update(zip(missing, free_ports(len(missing))))
        self.ports = chosen
        self._write_config()
        self._spawn(ready_timeout)
        return self

    def restart(self, ready_timeout=120):
        """(Stop if running and) start again on the same ports and
        storage: for "backend down for a while, then up" tests."""
        self.stop()
        self._spawn(ready_timeout)

    def stop(self, timeout=None):
        """Terminate gracefully (SIGTERM), then SIGKILL after `timeout`
        (default: stop_grace). Ports and storage are kept for restart()."""
        if self.proc is None:
            return
        if self.paused:
            self.resume()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_grace if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self._log.close()
        _live.discard(self)

    def pause(self):
        """Freeze the process (SIGSTOP): connections hang, not refused."""
        self._require_running()
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        """Undo pause() (SIGCONT)."""
        self._require_running()
        os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def proc_state(self):
        """The kernel's state letter for the process (R, S, T for stopped,
        ...), or a word when there is no process: for failure messages."""
        if self.proc is None:
            return "not started"
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return f"exited ({self.proc.poll()})"
        return stat.rsplit(")", 1)[1].split()[0]

    def heal(self, ready_timeout=20):
        """Bring a shared backend back to serving after a test that
        paused, stopped or broke it, so one failure cannot fail every
        later test. Returns what was done ('' when it was healthy), and
        says it on stderr."""
        if self.running:
            os.kill(self.proc.pid, signal.SIGCONT)  # harmless when running
            self.paused = False
            try:
                self.wait_ready(ready_timeout)
                return ""
            except BackendError as e:
                why = f"not ready ({e.args[0].splitlines()[0]}); restarted"
            self.stop(timeout=5)
        else:
            why = "not running; restarted"
        self._spawn(120)
        print(f"\n{self.name}: {why}", file=sys.stderr)
        return why

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- diagnostics -------------------------------------------------------

    @property
    def log_path(self):
        return self.dir / f"{self.name}.log"

    @property
    def config_path(self):
        return self.dir / f"{self.name}.yaml"

    def log_tail(self, lines=40):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, msg):
        """Raise BackendError carrying the backend's log tail."""
        raise BackendError(f"{self.name}: {msg}\n--- {self.log_path} (tail) ---\n"
                           f"{self.log_tail()}")

    # -- HTTP --------------------------------------------------------------

    @property
    def url(self):
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{LOOPBACK}:{self.ports['http_port']}"

    def get(self, path, params=None, headers=None, timeout=10):
        if params:
            path += "?" + urllib.parse.urlencode(params)
        return http_request(self.url + path, headers=headers, timeout=timeout,
                            context=self.ssl_context)

    def get_json(self, path, params=None, timeout=10):
        """GET returning (status, parsed JSON or None)."""
        status, body = self.get(path, params, {"Accept": "application/json"},
                                timeout)
        if status != 200:
            return status, None
        try:
            return status, json.loads(body)
        except ValueError:
            self.fail(f"GET {path}: invalid JSON: {body[:200]!r}")

    # -- internals ---------------------------------------------------------

    def template_vars(self):
        return dict(self.ports, data_dir=str(self.dir / "data"))

    def _write_config(self):
        tmpl = string.Template((BACKENDS_DIR / f"{self.name}.yaml").read_text())
        self.config_path.write_text(tmpl.substitute(self.template_vars()))

    def _spawn(self, ready_timeout):
        self._log = open(self.log_path, "ab")
        self._log.write(f"=== {time.ctime()}: starting {self.name} ===\n".encode())
        self._log.flush()
        argv = [self.binary, f"-config.file={self.config_path}"]
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=self._log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     cwd=self.dir, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        _live.add(self)
        try:
            self.wait_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def wait_ready(self, timeout=120):
        def ready():
            if self.proc.poll() is not None:
                self.fail(f"exited with code {self.proc.returncode}")
            return self.get(self.ready_path, timeout=2)[0] == 200
        try:
            poll(ready, timeout, 0.25, f"{self.name} {self.ready_path}")
        except TimeoutError as e:
            self.fail(f"{e} (process state {self.proc_state()})")

    def _require_running(self):
        if not self.running:
            raise BackendError(f"{self.name} is not running")


# -- OTLP JSON id normalisation --------------------------------------------

# Statuses a poll treats as "not there yet" (0: connection failed).
_TRANSIENT = (0, 200, 404, 429, 500, 502, 503, 504)

_ID_BYTES = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


def normalize_id(value, nbytes):
    """Return an OTLP id as lowercase hex whether given as hex or base64
    (Tempo's protobuf-JSON encodes bytes as base64). Empty stays empty."""
    if not value:
        return ""
    if len(value) == 2 * nbytes:
        try:
            bytes.fromhex(value)
            return value.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"id {value!r} is neither hex nor base64")
    if len(raw) != nbytes:
        raise ValueError(f"id {value!r} decodes to {len(raw)} bytes, "
                         f"want {nbytes}")
    return raw.hex()


def _normalize_ids(node):
    if isinstance(node, dict):
        for key, val in node.items():
            if key in _ID_BYTES and isinstance(val, str):
                node[key] = normalize_id(val, _ID_BYTES[key])
            else:
                _normalize_ids(val)
    elif isinstance(node, list):
        for item in node:
            _normalize_ids(item)


def normalize_trace(doc):
    """Turn a Tempo trace response (v1 `batches` or v2 `trace`) into an
    OTLP-JSON dict {"resourceSpans": [{resource, scopeSpans: [...]}]} with
    hex ids."""
    if "trace" in doc:
        doc = doc["trace"]
    rs = doc.get("resourceSpans", doc.get("batches", []))
    for batch in rs:
        if "instrumentationLibrarySpans" in batch:
            batch["scopeSpans"] = batch.pop("instrumentationLibrarySpans")
    _normalize_ids(rs)
    return {"resourceSpans": rs}


def any_value(v):
    """Decode an OTLP-JSON AnyValue into a Python value."""
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return attributes(v["kvlistValue"].get("values", []))
    if "bytesValue" in v:
        return base64.b64decode(v["bytesValue"])
    return None


def attributes(kvs):
    """[{key, value: AnyValue}] -> {key: python value}."""
    return {kv["key"]: any_value(kv.get("value", {})) for kv in kvs or []}


def iter_spans(trace):
    """Yield (resource attributes dict, span dict) for a normalised trace."""
    for batch in trace.get("resourceSpans", []):
        res = attributes(batch.get("resource", {}).get("attributes"))
        for scope in batch.get("scopeSpans", []):
            for span in scope.get("spans", []):
                yield res, span


class Tempo(Backend):
    """Single-binary Grafana Tempo: OTLP/HTTP and OTLP/gRPC in, HTTP API."""

    name = "tempo"
    # Its ingester flushes within a second of SIGTERM, but the query
    # frontend can then block shutdown for ~30s (fixed upstream later);
    # the WAL makes SIGKILL safe anyway.
    stop_grace = 5
    port_names = ("http_port", "grpc_port", "otlp_http_port",
                  "otlp_grpc_port", "memberlist_port")

    def __init__(self, binary=None, otlp_tls=None):
        """otlp_tls: {"cert_file", "key_file"[, "client_ca_file"]} serves
        the OTLP/HTTP receiver over TLS (client certificates required when
        client_ca_file is given)."""
        super().__init__(binary)
        self.otlp_tls = otlp_tls

    @property
    def otlp_http_url(self):
        """Base URL of the OTLP/HTTP receiver (append /v1/traces)."""
        scheme = "https" if self.otlp_tls else "http"
        return f"{scheme}://{LOOPBACK}:{self.ports['otlp_http_port']}"

    def template_vars(self):
        tls = ""
        if self.otlp_tls:
            tls = "          tls:\n" + "".join(
                f"            {k}: {v}\n" for k, v in self.otlp_tls.items())
        return dict(super().template_vars(), otlp_http_tls=tls)

    @property
    def otlp_grpc_endpoint(self):
        return f"{LOOPBACK}:{self.ports['otlp_grpc_port']}"

    def post_otlp_json(self, payload, timeout=10):
        """POST an OTLP ExportTraceServiceRequest as JSON; return status."""
        body = json.dumps(payload).encode()
        status, resp = http_request(self.otlp_http_url + "/v1/traces", "POST",
                                    body, {"Content-Type": "application/json"},
                                    timeout)
        if status != 200:
            self.fail(f"OTLP POST returned {status}: {resp[:300]!r}")
        return status

    def fetch_trace(self, trace_id_hex):
        """One lookup: normalised trace dict, or None if not (yet) found."""
        status, doc = self.get_json(f"/api/traces/{trace_id_hex.lower()}")
        if status == 200 and doc:
            trace = normalize_trace(doc)
            return trace if trace["resourceSpans"] else None
        if status not in _TRANSIENT:
            self.fail(f"/api/traces/{trace_id_hex} returned {status}")
        return None

    def get_trace(self, trace_id_hex, timeout=30, min_spans=1):
        """Poll until the trace has at least `min_spans` spans; return it."""
        def found():
            trace = self.fetch_trace(trace_id_hex)
            if trace and sum(1 for _ in iter_spans(trace)) >= min_spans:
                return trace
            return None
        return self._poll(found, timeout, f"trace {trace_id_hex}")

    def search_once(self, service_name=None, tags=None, query=None,
                    start=None, end=None, limit=100):
        """One /api/search call; list of trace summaries (traceID as
        32-char hex) or None when the request failed."""
        params = {"limit": str(limit)}
        if query is None and service_name is not None:
            esc = service_name.replace("\\", "\\\\").replace('"', '\\"')
            query = '{resource.service.name="%s"}' % esc
        if query is not None:
            params["q"] = query
        if tags:
            params["tags"] = " ".join(f"{k}={v}" for k, v in tags.items())
        now = int(time.time())
        params["start"] = str(start if start is not None else now - 3600)
        params["end"] = str(end if end is not None else now + 60)
        status, doc = self.get_json("/api/search", params)
        if status != 200 or doc is None:
            return None
        traces = doc.get("traces") or []
        for t in traces:
            t["traceID"] = t.get("traceID", "").lower().rjust(32, "0")
        return traces

    def search(self, service_name=None, tags=None, query=None, timeout=30,
               min_results=1, trace_id=None, **kw):
        """Poll /api/search until at least `min_results` traces match (or
        the given `trace_id` is among them); return the summaries."""
        def found():
            traces = self.search_once(service_name, tags, query, **kw)
            if traces is None:
                return None
            if trace_id is not None:
                ok = trace_id.lower() in {t["traceID"] for t in traces}
            else:
                ok = len(traces) >= min_results
            return traces if ok else None
        return self._poll(found, timeout, "search results")

    def _poll(self, fn, timeout, what):
        try:
            return poll(fn, timeout, 0.5, what)
        except TimeoutError as e:
            self.fail(str(e))


class Loki(Backend):
    """Single-binary Grafana Loki with a filesystem store."""

    name = "loki"
    port_names = ("http_port", "grpc_port", "memberlist_port")

    def __init__(self, binary=None, http_tls=None):
        """http_tls: {"cert_file", "key_file", "ca_file"[, "client_cert",
        "client_key"]} serves the HTTP API (push and query alike) over TLS;
        with a client certificate, Loki requires one signed by ca_file, and
        the harness presents that one."""
        super().__init__(binary)
        self.http_tls = http_tls
        if http_tls:
            ctx = ssl.create_default_context(cafile=http_tls["ca_file"])
            if http_tls.get("client_cert"):
                ctx.load_cert_chain(http_tls["client_cert"],
                                    http_tls["client_key"])
            self.ssl_context = ctx

    def template_vars(self):
        t, tls = self.http_tls, ""
        if t:
            tls = ("  http_tls_config:\n"
                   f"    cert_file: {t['cert_file']}\n"
                   f"    key_file: {t['key_file']}\n")
            if t.get("client_cert"):
                tls += ("    client_auth_type: RequireAndVerifyClientCert\n"
                        f"    client_ca_file: {t['ca_file']}\n")
        return dict(super().template_vars(), http_tls=tls)

    @property
    def push_url(self):
        return self.url + "/loki/api/v1/push"

    def push(self, labels, lines, ts_ns=None, metadata=None):
        """Push lines (one stream) via the JSON push API; `metadata` is
        structured metadata attached to every line."""
        ts = ts_ns if ts_ns is not None else time.time_ns()
        values = []
        for i, line in enumerate(lines):
            v = [str(ts + i), line]
            if metadata:
                v.append(metadata)
            values.append(v)
        body = json.dumps({"streams": [{"stream": labels, "values": values}]})
        status, resp = http_request(self.push_url, "POST", body.encode(),
                                    {"Content-Type": "application/json"},
                                    context=self.ssl_context)
        if status != 204:
            self.fail(f"push returned {status}: {resp[:300]!r}")

    def query_range_once(self, logql, start_ns, end_ns, limit=1000):
        params = {"query": logql, "start": str(start_ns), "end": str(end_ns),
                  "limit": str(limit), "direction": "forward"}
        status, doc = self.get_json("/loki/api/v1/query_range", params)
        if status != 200 or doc is None:
            return None
        return doc.get("data", {}).get("result", [])

    def query_range(self, logql, start_ns=None, end_ns=None, timeout=30,
                    min_entries=1, limit=1000):
        """Poll until the streams hold at least `min_entries` entries;
        return the result list (streams with `values`)."""
        now = time.time_ns()
        start_ns = start_ns if start_ns is not None else now - 3600 * 10**9
        end_ns = end_ns if end_ns is not None else now + 60 * 10**9

        def found():
            res = self.query_range_once(logql, start_ns, end_ns, limit)
            if res is None:
                return None
            n = sum(len(s.get("values", [])) for s in res)
            return res if n >= min_entries else None
        try:
            return poll(found, timeout, 0.5, f"LogQL {logql}")
        except TimeoutError as e:
            self.fail(str(e))
