"""A Massive-like S3 endpoint for tests: moto in server mode behind a small fault-injecting proxy.

moto (ThreadedMotoServer, 127.0.0.1, port 0) stores the objects and answers S3 exactly as S3
does (ETag, Content-Length, 404 NoSuchKey). The proxy in front adds what Massive does and moto
cannot: 403 for a dataset outside the plan, 5xx, a body cut mid-file, a stalled body, a corrupt
body — each scripted per key and counted, and it records every request so a test can assert
what was (not) downloaded.
"""

from __future__ import annotations

import gzip
import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

BUCKET = "flatfiles"
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key-do-not-log"

AGG_HEADER = "ticker,volume,open,close,high,low,window_start,transactions"
OPTION_TRADE_HEADER = "ticker,conditions,correction,exchange,price,sip_timestamp,size"
OPTION_QUOTE_HEADER = ("ticker,ask_exchange,ask_price,ask_size,bid_exchange,bid_price,bid_size,"
                       "sequence_number,sip_timestamp")
STOCK_TRADE_HEADER = ("ticker,conditions,correction,exchange,id,participant_timestamp,price,"
                      "sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp")


@dataclass
class Faults:
    """Per-key scripted failures; each counter is consumed by one GET."""

    refuse_prefixes: set[str] = field(default_factory=set)
    server_error: Counter[str] = field(default_factory=Counter)
    cut_mid_body: Counter[str] = field(default_factory=Counter)
    stall_mid_body: Counter[str] = field(default_factory=Counter)
    corrupt_body: Counter[str] = field(default_factory=Counter)
    stall_seconds: float = 3.0
    get_delay_seconds: float = 0.0  # every GET waits this long (to make downloads overlap)


class FakeMassiveS3:
    """Start with `start()`, point boto3 (or FlatFileSource) at `endpoint`, `stop()` at the end."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.requests: list[tuple[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0  # most GETs served at once
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._proxy: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeMassiveS3:
        self._moto.start()
        self.moto_host, self.moto_port = self._moto.get_host_and_port()
        fake = self

        class Handler(_ProxyHandler):
            owner = fake

        self._proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._proxy.daemon_threads = True
        threading.Thread(target=self._proxy.serve_forever, daemon=True).start()
        self.admin().create_bucket(Bucket=BUCKET)
        return self

    def stop(self) -> None:
        if self._proxy is not None:
            self._proxy.shutdown()
            self._proxy.server_close()
        self._moto.stop()

    @property
    def endpoint(self) -> str:
        assert self._proxy is not None
        return f"http://127.0.0.1:{self._proxy.server_address[1]}"

    def admin(self) -> Any:
        """A boto3 client straight to moto (uploads bypass the faults and the request log)."""
        return boto3.client("s3", endpoint_url=f"http://{self.moto_host}:{self.moto_port}",
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            region_name="us-east-1")

    # -- content ----------------------------------------------------------------------------

    def put_csv(self, key: str, header: str, rows: list[str]) -> bytes:
        body = gzip.compress(("\n".join([header, *rows]) + "\n").encode())
        self.put_bytes(key, body)
        return body

    def put_bytes(self, key: str, body: bytes) -> None:
        self.admin().put_object(Bucket=BUCKET, Key=key, Body=body)

    def gets(self, key: str) -> int:
        return sum(1 for method, k in self.requests if method == "GET" and k == key)

    def log(self, method: str, key: str) -> None:
        with self._lock:
            self.requests.append((method, key))


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: FakeMassiveS3
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _key(self) -> str:
        path = self.path.split("?", 1)[0].lstrip("/")
        return path.removeprefix(f"{BUCKET}/") if path.startswith(f"{BUCKET}/") else ""

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_GET(self) -> None:
        fake = self.owner
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if fake.faults.get_delay_seconds:
                time.sleep(fake.faults.get_delay_seconds)
            self._handle("GET")
        finally:
            with fake._lock:
                fake.in_flight -= 1

    def _handle(self, method: str) -> None:
        fake, key = self.owner, self._key()
        fake.log(method, key)
        faults = fake.faults
        if key and any(key.startswith(p) for p in faults.refuse_prefixes):
            return self._error(403, "AccessDenied", "Access Denied", method)
        if method == "GET" and _take(faults.server_error, key, fake):
            return self._error(503, "InternalError", "We encountered an internal error.", method)
        status, headers, body = self._forward(method)
        if method == "GET" and status == 200:
            if _take(faults.corrupt_body, key, fake):
                body = body[: len(body) // 2]  # a complete response holding a truncated gzip
                headers["Content-Length"] = str(len(body))
            elif _take(faults.cut_mid_body, key, fake):
                return self._send_partial(headers, body, stall=0.0)
            elif _take(faults.stall_mid_body, key, fake):
                return self._send_partial(headers, body, stall=faults.stall_seconds)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method == "GET":
            self.wfile.write(body)

    def _forward(self, method: str) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.owner.moto_host, self.owner.moto_port, timeout=10)
        try:
            conn.request(method, self.path, headers={k: v for k, v in self.headers.items()})
            reply = conn.getresponse()
            body = reply.read()
            keep = {"Content-Type", "Content-Length", "ETag", "Last-Modified", "x-amz-request-id"}
            headers = {k: v for k, v in reply.getheaders() if k in keep}
            return reply.status, headers, body
        finally:
            conn.close()

    def _send_partial(self, headers: dict[str, str], body: bytes, stall: float) -> None:
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body[: max(1, len(body) // 3)])
        self.wfile.flush()
        if stall:
            time.sleep(stall)
        self.close_connection = True

    def _error(self, status: int, code: str, message: str, method: str) -> None:
        payload = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                   f"<Message>{message}</Message></Error>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", "0" if method == "HEAD" else str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)


def _take(counter: Counter[str], key: str, fake: FakeMassiveS3) -> bool:
    with fake._lock:
        if counter[key] > 0:
            counter[key] -= 1
            return True
    return False


def flat_key(prefix: str, day: Any) -> str:
    return f"{prefix}/{day:%Y}/{day:%m}/{day.isoformat()}.csv.gz"


