"""A loopback HTTP proxy in front of the sandbox's AWS (moto), to count and classify every API
request a CLI run makes and to inject faults: throttling, 5xx, a 500 *after* the server did the
work, and SIGKILL of the client before or after the server did the work.

    with FaultProxy.for_sandbox(sandbox_home, KillAt(mutating=7)) as proxy:
        proc = subprocess.Popen([... "lepton", "apply" ...], env=proxy.env(env))
        proxy.target_pid = proc.pid
        ...
    proxy.calls        # every request, classified, with what the policy did to it

A CLI subprocess finds the proxy exactly as it finds a sandbox `lepton sandbox start` made: the
proxy writes a sandbox runtime file (`lepton_cli.sandbox.runtime`) in its own sandbox home whose
`aws` endpoint is the proxy; `proxy.env(env)` points LEPTON_SANDBOX_HOME there.

Classification (`classify`): the service is the credential scope's signing name in the SigV4
`Authorization` header; the operation is `Action=` (query and EC2 protocols, form body or query
string), `X-Amz-Target` (JSON protocol), the `/service/S/operation/Op` path (RPC v2 CBOR), or,
for the REST protocols (S3, CloudFront), the method and path matched against botocore's own
service model (`requestUri` templates: `PUT /{Bucket}` is CreateBucket, `PUT /{Bucket}?tagging`
PutBucketTagging; the most specific template wins).

Policies (`Policy`: a callable Call -> Action, called once per request under the proxy's lock):
`forward_all`; `KillAt` (SIGKILL `target_pid` before or after forwarding the k-th mutating
request, or the n-th request of an operation); `RandomFaults` (seeded: every random choice comes
from `random.Random`, seeded by the seed, the operation and its occurrence, so a failing run is
reproduced from the seed it names).
"""

from __future__ import annotations

import enum
import http.client
import json
import os
import random
import shutil
import signal
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lepton_cli.sandbox.runtime import read_runtime, remove_runtime, write_runtime

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "trailers", "transfer-encoding", "upgrade", "expect", "proxy-connection"})
READ_PREFIXES = ("Describe", "Get", "List", "Head", "Lookup", "Search", "Select", "Check", "Validate")
# Creates that are not named Create*: each makes a new object when sent again.
CREATES = frozenset({"RunInstances", "AllocateAddress", "RequestSpotInstances", "ImportKeyPair", "CopyImage"})
NOT_CREATES = frozenset({"CreateTags", "CreateOrUpdateTags"})  # tagging only: idempotent


# -- classification ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Classified:
    service: str | None    # the SigV4 signing name: ec2, autoscaling, elasticloadbalancing, s3, ...
    protocol: str | None   # ec2 | query | json | cbor | rest-s3 | rest-cloudfront | rest | None
    operation: str | None  # CreateVpc, PutBucketTagging, CreateDistributionWithTags, ...
    mutating: bool
    create: bool


def _signing_service(headers: Mapping[str, str], query: list[tuple[str, str]]) -> str | None:
    auth = headers.get("authorization", "")
    if "Credential=" in auth:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        credential = dict(query).get("X-Amz-Credential", "")
    parts = credential.strip().split("/")
    return parts[3] if len(parts) >= 5 else None


# Botocore's model names the services by endpoint prefix, not always by signing name.
REST_MODELS = {"s3": "s3", "cloudfront": "cloudfront"}


@lru_cache(maxsize=None)
def _rest_templates(model_name: str) -> list[tuple[str, list[str], dict[str, str | None], str, bool,
                                                   tuple[str, ...], tuple[str, ...]]]:
    """(method, path segments, literal query {key: value or None}, operation, deprecated,
    required header names, required query keys) per operation. Required headers and query keys
    tell apart operations of one template (`PUT /{Bucket}/{Key+}`: PutObject, CopyObject with
    x-amz-copy-source, UploadPart with partNumber and uploadId); `PUT /{Bucket}?lifecycle` is both
    PutBucketLifecycle, deprecated, and PutBucketLifecycleConfiguration: the current one wins."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(model_name)
    out = []
    for op in model.operation_names:
        operation = model.operation_model(op)
        http_ = operation.http
        path, _, query = http_["requestUri"].partition("?")
        literals: dict[str, str | None] = {}
        for part in filter(None, query.split("&")):
            key, eq, value = part.partition("=")
            literals[key] = value if eq else None
        required_headers, required_query = [], []
        shape = operation.input_shape
        for member in (shape.required_members if shape is not None else []):
            where = shape.members[member].serialization
            if where.get("location") == "header":
                required_headers.append(where.get("name", member).lower())
            elif where.get("location") == "querystring":
                required_query.append(where.get("name", member))
        out.append((http_["method"].upper(), [s for s in path.split("/") if s], literals, op,
                    bool(operation.deprecated), tuple(required_headers), tuple(required_query)))
    return out


def _path_matches(template: list[str], segments: list[str]) -> bool:
    for i, t in enumerate(template):
        if t.startswith("{") and t.endswith("+}"):  # greedy label: the rest, at least one segment
            return len(segments) > i
        if i >= len(segments):
            return False
        if not (t.startswith("{") and t.endswith("}")) and t != segments[i]:
            return False
    return len(segments) == len(template)


def rest_operation(model_name: str, method: str, path: str, query: list[tuple[str, str]],
                   headers: Mapping[str, str] | None = None) -> str | None:
    """The operation whose `requestUri` template matches most specifically (literal query keys
    first, then required headers and query keys, then literal path segments)."""
    segments = [s for s in path.split("/") if s]
    headers = headers or {}
    given = {}
    for key, value in query:
        given.setdefault(key, value)
    best: tuple[tuple[int, int, int, int, int], str] | None = None
    for t_method, t_path, literals, op, deprecated, req_headers, req_query in _rest_templates(model_name):
        if t_method != method or not _path_matches(t_path, segments):
            continue
        if any(k not in given or (v is not None and given[k] != v) for k, v in literals.items()):
            continue
        if any(h not in headers for h in req_headers) or any(q not in given for q in req_query):
            continue
        score = (len(literals), len(req_headers) + len(req_query), sum(1 for s in t_path if not s.startswith("{")),
                 -sum(1 for s in t_path if s.endswith("+}")), 0 if deprecated else 1)
        if best is None or score > best[0]:
            best = (score, op)
    return best[1] if best else None


def is_mutating(operation: str | None, method: str) -> bool:
    if operation is None:
        return method not in ("GET", "HEAD", "OPTIONS")
    return not operation.startswith(READ_PREFIXES) and operation not in ("AssumeRole",)


def is_create(operation: str | None) -> bool:
    return bool(operation) and operation not in NOT_CREATES and (
        operation.startswith("Create") or operation in CREATES)


def classify(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Classified:
    """What a request is. `headers` keys must be lower-case."""
    method = method.upper()
    split = urllib.parse.urlsplit(target)
    query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
    service = _signing_service(headers, query)
    protocol = operation = None
    if "x-amz-target" in headers:
        protocol, operation = "json", headers["x-amz-target"].rsplit(".", 1)[-1]
    elif headers.get("smithy-protocol") == "rpc-v2-cbor" or "/operation/" in split.path:
        protocol, operation = "cbor", split.path.rstrip("/").rsplit("/", 1)[-1]
    else:
        action = dict(query).get("Action")
        if action is None and method == "POST" and "x-www-form-urlencoded" in headers.get("content-type", ""):
            action = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)).get("Action")
        if action is not None:
            protocol, operation = ("ec2" if service == "ec2" else "query"), action
        elif service in REST_MODELS:
            protocol = f"rest-{service}"
            operation = rest_operation(REST_MODELS[service], method, split.path, query, headers)
        elif service is not None:
            protocol = "rest"
    if service is None and operation is None:  # not an AWS API call (a health check's GET /)
        return Classified(None, None, None, False, False)
    return Classified(service, protocol, operation, is_mutating(operation, method), is_create(operation))


# -- what the proxy does to a request --------------------------------------------------------------

class Action(str, enum.Enum):
    FORWARD = "forward"
    THROTTLE = "throttle"                        # a throttling error, not forwarded
    ERROR_500 = "error-500"                      # 500, not forwarded
    ERROR_503 = "error-503"                      # 503, not forwarded
    FORWARD_THEN_500 = "forward-then-500"        # the server did it; the client sees a 500
    FORWARD_THEN_KILL = "forward-then-kill"      # the server did it; the client is SIGKILLed first
    KILL_BEFORE_FORWARD = "kill-before-forward"  # the client is SIGKILLed; the server never sees it


@dataclass
class Call:
    """One request through the proxy."""

    seq: int                   # 1-based, every request
    method: str
    target: str                # path and query
    service: str | None
    protocol: str | None
    operation: str | None
    mutating: bool
    create: bool
    mutating_seq: int | None   # 1-based among mutating requests
    action: Action = Action.FORWARD
    status: int | None = None  # what the client was answered (None: nothing, e.g. killed)
    upstream_status: int | None = None  # what the server answered (None: not forwarded)

    def __str__(self) -> str:
        what = self.operation or f"{self.method} {self.target[:60]}"
        where = f"#{self.seq}" + (f" (mutating #{self.mutating_seq})" if self.mutating_seq else "")
        result = f"{self.action.value}" + (f" upstream={self.upstream_status}" if self.upstream_status else "")
        return f"{where} {self.service}:{what} -> {result}" + (f" client={self.status}" if self.status else "")


Policy = Callable[[Call], Action]


def forward_all(call: Call) -> Action:
    return Action.FORWARD


@dataclass
class KillAt:
    """SIGKILL the client at the `nth` request matching: `mutating=k` (the k-th mutating
    request), or `operation=Op` (its `nth` occurrence). `after=True`: after the server did it."""

    mutating: int | None = None
    operation: str | None = None
    nth: int = 1
    after: bool = True
    seen: int = 0
    fired: Call | None = None

    def __call__(self, call: Call) -> Action:
        if self.fired is not None:
            return Action.FORWARD
        if self.mutating is not None:
            hit = call.mutating_seq == self.mutating
        else:
            if call.operation == self.operation:
                self.seen += 1
            hit = call.operation == self.operation and self.seen == self.nth
        if not hit:
            return Action.FORWARD
        self.fired = call
        return Action.FORWARD_THEN_KILL if self.after else Action.KILL_BEFORE_FORWARD

    def __str__(self) -> str:
        point = f"mutating request #{self.mutating}" if self.mutating is not None else f"{self.operation} #{self.nth}"
        return f"kill {'after' if self.after else 'before'} {point}"


@dataclass
class RandomFaults:
    """`fault_rate` of all API requests answered throttling, 500 or 503 without being forwarded;
    `create_500_rate` of the (other) create requests forwarded and then answered 500.

    Seeded, and reproducible even though a CLI sends requests concurrently: the fate of the n-th
    request of an operation is drawn from `random.Random(f"{seed}:{operation}:{n}")`, so it does
    not depend on how requests of different operations interleave."""

    seed: int
    fault_rate: float = 0.2
    create_500_rate: float = 0.3
    seen: Counter = field(default_factory=Counter)

    def __call__(self, call: Call) -> Action:
        if call.service is None:  # not an API call (the CLI's check that the sandbox answers)
            return Action.FORWARD
        key = call.operation or f"{call.method} {urllib.parse.urlsplit(call.target).path}"
        self.seen[key] += 1  # the proxy calls its policy under its lock
        rng = random.Random(f"{self.seed}:{key}:{self.seen[key]}")
        if rng.random() < self.fault_rate:
            return rng.choice([Action.THROTTLE, Action.ERROR_500, Action.ERROR_503])
        if call.create and rng.random() < self.create_500_rate:
            return Action.FORWARD_THEN_500
        return Action.FORWARD

    def __str__(self) -> str:
        return (f"RandomFaults(seed={self.seed}: {self.fault_rate:.0%} of requests throttled/5xx unforwarded, "
                f"{self.create_500_rate:.0%} of creates done then answered 500)")


# -- error bodies, per wire protocol -------------------------------------------------------------

def _cbor_text(s: str) -> bytes:
    data = s.encode()
    n = len(data)
    head = bytes([0x60 + n]) if n < 24 else bytes([0x78, n]) if n < 256 else bytes([0x79]) + n.to_bytes(2, "big")
    return head + data


def _cbor_map(items: dict[str, str]) -> bytes:
    return bytes([0xA0 + len(items)]) + b"".join(_cbor_text(k) + _cbor_text(v) for k, v in items.items())


# (status, code) per protocol and fault
FAULTS = {
    "throttle": {"ec2": (503, "RequestLimitExceeded"), "query": (400, "Throttling"),
                 "json": (400, "ThrottlingException"), "cbor": (400, "ThrottlingException"),
                 "rest-s3": (503, "SlowDown"), "rest-cloudfront": (400, "Throttling"), "rest": (429, "Throttling")},
    500: {"ec2": (500, "InternalError"), "query": (500, "InternalFailure"), "json": (500, "InternalFailure"),
          "cbor": (500, "InternalFailure"), "rest-s3": (500, "InternalError"),
          "rest-cloudfront": (500, "InternalError"), "rest": (500, "InternalError")},
    503: {"ec2": (503, "Unavailable"), "query": (503, "ServiceUnavailable"), "json": (503, "ServiceUnavailable"),
          "cbor": (503, "ServiceUnavailable"), "rest-s3": (503, "ServiceUnavailable"),
          "rest-cloudfront": (503, "ServiceUnavailable"), "rest": (503, "ServiceUnavailable")},
}


def error_response(protocol: str | None, fault: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of an injected error, in the protocol's own error format, so
    botocore parses its code (and, for throttling, recognises it as such)."""
    status, code = FAULTS[fault].get(protocol or "rest", FAULTS[fault]["rest"])
    message = "injected by the fault proxy"
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)]
    if protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
        return status, headers + [("Content-Type", "text/xml;charset=UTF-8")], body.encode()
    if protocol in ("query", "rest-cloudfront"):
        body = (f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return status, headers + [("Content-Type", "text/xml")], body.encode()
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message})
        return status, headers + [("Content-Type", "application/x-amz-json-1.1")], body.encode()
    if protocol == "cbor":
        return status, headers + [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")], \
            _cbor_map({"__type": code, "message": message})
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>{request_id}</RequestId></Error>")
    return status, headers + [("Content-Type", "application/xml")], body.encode()


# -- the proxy -------------------------------------------------------------------------------------

def _dead(pid: int) -> bool:
    """Gone or a zombie (a child the test has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


class FaultProxy:
    """A threaded loopback proxy to one upstream URL, with a sandbox home of its own."""

    def __init__(self, upstream: str, policy: Policy | None = None, endpoints: Mapping[str, str] | None = None,
                 home: Path | None = None, name: str = "aws"):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = upstream
        self.upstream_host, self.upstream_port = parsed.hostname, parsed.port or 80
        self.policy: Policy = policy or forward_all
        self.endpoints = dict(endpoints or {})
        self.name = name
        self._home_given = home
        self.home: Path | None = None
        self.calls: list[Call] = []
        self.counts: Counter[str] = Counter()
        self.kills: list[Call] = []
        self.errors: list[str] = []  # the proxy's own troubles (upstream unreachable...)
        self.incomplete = 0  # requests whose client went away mid-body: not forwarded, not counted
        self._lock = threading.Lock()
        self._mutating_count = 0
        self._pid: int | None = None
        self._pid_set = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def for_sandbox(cls, sandbox_home: Path, policy: Policy | None = None, **kwargs: Any) -> FaultProxy:
        runtime = read_runtime(Path(sandbox_home))
        assert runtime is not None, f"no sandbox runtime file in {sandbox_home}"
        endpoints = {str(k): str(v) for k, v in runtime["endpoints"].items()}
        return cls(endpoints["aws"], policy, endpoints=endpoints, **kwargs)

    # -- the process to kill ------------------------------------------------------------------------
    @property
    def target_pid(self) -> int | None:
        return self._pid

    @target_pid.setter
    def target_pid(self, pid: int | None) -> None:
        self._pid = pid
        if pid is None:
            self._pid_set.clear()
        else:
            self._pid_set.set()

    def _kill(self, call: Call) -> None:
        if not self._pid_set.wait(30):
            self.errors.append(f"{call}: no target_pid to kill")
            return
        pid = self._pid
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            self.errors.append(f"{call}: process {pid} already gone")
            return
        with self._lock:
            self.kills.append(call)
        deadline = time.monotonic() + 10
        while not _dead(pid) and time.monotonic() < deadline:  # never answer a live client
            time.sleep(0.005)

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` with LEPTON_SANDBOX_HOME pointing at this proxy's sandbox home."""
        assert self.home is not None, "start the proxy first"
        return {**base, "LEPTON_SANDBOX_HOME": str(self.home)}

    def __enter__(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self.home = Path(self._home_given) if self._home_given else Path(tempfile.mkdtemp(prefix="lepton-proxy-"))
        write_runtime(self.home, os.getpid(), {**self.endpoints, self.name: self.url})
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None and self.home is not None
        remove_runtime(self.home, os.getpid())
        if self._home_given is None:
            shutil.rmtree(self.home, ignore_errors=True)
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- bookkeeping -----------------------------------------------------------------------------------
    def reset(self, policy: Policy | None = None) -> None:
        """Forget what was counted (and maybe change the policy) between two runs."""
        with self._lock:
            self.calls, self.counts, self.kills, self.errors = [], Counter(), [], []
            self.incomplete = 0
            self._mutating_count = 0
            if policy is not None:
                self.policy = policy
        self.target_pid = None

    def _admit(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Call:
        kind = classify(method, target, headers, body)
        with self._lock:
            mutating_seq = None
            if kind.mutating:
                self._mutating_count += 1
                mutating_seq = self._mutating_count
            call = Call(len(self.calls) + 1, method, target, kind.service, kind.protocol, kind.operation,
                        kind.mutating, kind.create, mutating_seq)
            self.calls.append(call)
            if kind.operation:
                self.counts[kind.operation] += 1
            try:
                call.action = Action(self.policy(call))
            except Exception as exc:  # a broken policy must show, not hang the client
                self.errors.append(f"{call}: policy raised {exc!r}")
                call.action = Action.FORWARD
        return call

    @property
    def total(self) -> int:
        return sum(1 for c in self.calls if c.service is not None)

    def mutating(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.mutating]

    def operations(self, *, mutating: bool | None = None) -> list[str]:
        with self._lock:
            return [c.operation or f"{c.method} {c.target}" for c in self.calls
                    if c.service is not None and (mutating is None or c.mutating == mutating)]

    def injected(self) -> Counter[str]:
        with self._lock:
            return Counter(c.action.value for c in self.calls if c.action is not Action.FORWARD)

    def summary(self, last: int = 12) -> str:
        with self._lock:
            calls = [c for c in self.calls if c.service is not None]
            faults = [c for c in calls if c.action is not Action.FORWARD]
        lines = [f"proxy: {len(calls)} API requests, {sum(c.mutating for c in calls)} mutating; "
                 f"injected: {dict(Counter(c.action.value for c in faults)) or 'nothing'}"]
        if self.kills:
            lines.append("killed at: " + "; ".join(map(str, self.kills)))
        if self.errors:
            lines.append("proxy errors: " + "; ".join(self.errors))
        if self.incomplete:
            lines.append(f"{self.incomplete} request(s) cut off mid-body by the client: not forwarded")
        dangerous = [c for c in faults if c.action is Action.FORWARD_THEN_500]
        if dangerous:
            lines.append("done upstream but answered 500: " + ", ".join(
                f"{c.operation}#{c.seq}(upstream {c.upstream_status})" for c in dangerous))
        lines.append(f"last {min(last, len(calls))} requests:")
        lines += [f"  {c}" for c in calls[-last:]]
        return "\n".join(lines)

    def forward(self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
                ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", f"{self.upstream_host}:{self.upstream_port}")
            for key, value in headers:
                if key.lower() not in HOP_BY_HOP and key.lower() not in ("host", "content-length"):
                    conn.putheader(key, value)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            response = conn.getresponse()
            data = response.read() if method != "HEAD" else b""
            return response.status, response.reason, list(response.getheaders()), data
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes | None:
        """The request's body, or None if the client went away before sending all of it (a
        request that never fully arrived is never forwarded: no server would act on it)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                if not line.endswith(b"\n"):
                    return None
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:
                        trailer = self.rfile.readline()
                        if not trailer.endswith(b"\n"):
                            return None
                        if trailer in (b"\r\n", b"\n"):
                            return b"".join(chunks)
                chunk = self.rfile.read(size)
                if len(chunk) < size or not self.rfile.readline().endswith(b"\n"):
                    return None
                chunks.append(chunk)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return body if len(body) == length else None

    def _send(self, status: int, reason: str | None, headers: list[tuple[str, str]], body: bytes,
              keep_length: bool = False) -> None:
        self.send_response_only(status, reason)
        for key, value in headers:
            if key.lower() in HOP_BY_HOP or (key.lower() == "content-length" and not keep_length):
                continue
            self.send_header(key, value)
        if not keep_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    def _handle(self) -> None:
        proxy = self.owner
        body = self._body()
        if body is None:
            with proxy._lock:
                proxy.incomplete += 1
            self.close_connection = True
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        call = proxy._admit(self.command, self.path, headers, body)
        action = call.action
        if action is Action.KILL_BEFORE_FORWARD:
            proxy._kill(call)
            self.close_connection = True
            return
        if action in (Action.THROTTLE, Action.ERROR_500, Action.ERROR_503):
            fault = {"throttle": "throttle", "error-500": 500, "error-503": 503}[action.value]
            status, extra, payload = error_response(call.protocol, fault)
            call.status = status
            self._send(status, None, extra, payload)
            return
        try:
            status, reason, response_headers, payload = proxy.forward(self.command, self.path, self.headers.items(), body)
        except (OSError, http.client.HTTPException) as exc:
            proxy.errors.append(f"{call}: upstream {exc!r}")
            call.status = 502
            self._send(502, None, [("Content-Type", "text/plain")], f"fault proxy: upstream {exc!r}".encode())
            return
        call.upstream_status = status
        if action is Action.FORWARD_THEN_KILL:
            proxy._kill(call)
            self.close_connection = True
            return
        if action is Action.FORWARD_THEN_500:
            status, extra, payload = error_response(call.protocol, 500)
            call.status = status
            self._send(status, None, extra, payload)
            return
        call.status = status
        # HEAD, 204 and 304 answers carry the length of a body they do not send.
        keep = self.command == "HEAD" or status in (204, 304)
        self._send(status, reason, response_headers, payload, keep_length=keep)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
