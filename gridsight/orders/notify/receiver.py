"""A tiny local webhook receiver: verifies signatures and records what it got.

``make demo``, the tests and the benchmarks point a webhook channel at it. It listens on
127.0.0.1 only, checks ``X-Gridsight-Signature`` against its secret, answers 2xx (or
what a test scripted: a 500, a hang), and keeps every request it saw.

Example:
    >>> with WebhookReceiver(secret="s3cret") as rx:          # doctest: +SKIP
    ...     notifier = WebhookNotifier(rx.url, secret="s3cret")
    ...     notifier.send({"type": "new"}, key="k1")
    ...     rx.received[0].signature_ok
    True

A script of answers makes the failure cases: ``WebhookReceiver(responses=[500, 500])``
answers 500 twice, then 200; ``responses=["hang"]`` holds the first request for
``hang_s`` seconds without answering.

Run on its own (prints each request)::

    python -m gridsight.orders.notify.receiver --port 8099 --secret s3cret
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gridsight.orders.notify.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify_signature

Answer = int | str  # an HTTP status, or "hang"


@dataclass(frozen=True, slots=True)
class Received:
    """One request the receiver saw.

    Attributes:
        path: the request path (with query).
        headers: the request headers (names as sent).
        body: the raw body.
        json: the body parsed as JSON, or None if it is not JSON.
        signature_ok: whether the signature matched (None when the receiver has no secret).
        key: the ``Idempotency-Key`` header, if any.
        at: when it arrived (``time.time()``).
        perf_at: when it arrived (``time.perf_counter()``), for latency measurements.
        status: what the receiver answered (None for a hang that was never answered).
        duplicate: a request with this idempotency key was accepted before.
    """

    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    signature_ok: bool | None
    key: str | None
    at: float
    perf_at: float
    status: int | None
    duplicate: bool


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 recording webhook deliveries (see the module docstring).

    Args:
        secret: the shared secret; requests with a wrong or missing signature get 401.
            None accepts everything (e.g. Apprise's unsigned ``json://`` posts).
        port: the port (0: any free port; see :attr:`url`).
        responses: answers for the first requests, in order (then 200).
        hang_s: how long a ``"hang"`` answer holds the request.
        record: a JSONL file to append each accepted request to (for the demo).
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        port: int = 0,
        responses: Iterable[Answer] = (),
        hang_s: float = 30.0,
        record: Path | None = None,
    ) -> None:
        self.secret = secret
        self.hang_s = hang_s
        self.record = record
        self._port = port
        self._script: deque[Answer] = deque(responses)
        self._received: list[Received] = []
        self._accepted_keys: set[str] = set()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> WebhookReceiver:
        """Start serving in a background thread (idempotent)."""
        if self._server is not None:
            return self
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The status line + headers and the body go out as two writes; with Nagle's
            # algorithm on, the second waits for the client's delayed ACK (~40 ms).
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._open.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._open.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                if receiver._stopping.is_set():
                    self.close_connection = True
                    return
                receiver._handle(self)

            do_PUT = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests and the demo read .received instead

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging requests are released (their clients see a reset)."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        # Kept-alive connections have handler threads of their own: end them too, so a
        # stopped receiver really receives nothing more.
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5.0)
        self._server = None
        self._thread = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/hook``: the URL to give a webhook channel."""
        return f"http://127.0.0.1:{self.port}/hook"

    # -- behaviour -----------------------------------------------------------------------

    def script(self, *answers: Answer) -> None:
        """Queue answers for the next requests (then 200 again)."""
        with self._lock:
            self._script.extend(answers)

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._script.popleft() if self._script else 200

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        at, perf_at = time.time(), time.perf_counter()
        signature_ok = (
            None
            if self.secret is None
            else verify_signature(body, h.headers.get(SIGNATURE_HEADER), self.secret)
        )
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        key = h.headers.get(IDEMPOTENCY_HEADER)
        answer = self._next_answer() if signature_ok is not False else 401
        if answer == "hang":
            self._remember(h, body, parsed, signature_ok, key, at, perf_at, None)
            self._stopping.wait(self.hang_s)
            h.close_connection = True
            return
        status = int(answer)
        self._remember(h, body, parsed, signature_ok, key, at, perf_at, status)
        reply = json.dumps({"ok": 200 <= status < 300}).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(reply)))
        h.end_headers()
        h.wfile.write(reply)

    def _remember(
        self,
        h: BaseHTTPRequestHandler,
        body: bytes,
        parsed: Any,
        signature_ok: bool | None,
        key: str | None,
        at: float,
        perf_at: float,
        status: int | None,
    ) -> None:
        accepted = status is not None and 200 <= status < 300
        with self._arrived:
            duplicate = key is not None and key in self._accepted_keys
            if accepted and key is not None:
                self._accepted_keys.add(key)
            item = Received(
                path=h.path,
                headers={k: v for k, v in h.headers.items()},
                body=body,
                json=parsed,
                signature_ok=signature_ok,
                key=key,
                at=at,
                perf_at=perf_at,
                status=status,
                duplicate=duplicate,
            )
            self._received.append(item)
            self._arrived.notify_all()
        if accepted and self.record is not None:
            line = {"at": at, "key": key, "signature_ok": signature_ok, "body": parsed}
            with self._lock, self.record.open("a", encoding="utf-8") as f:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")

    # -- what arrived --------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._received)

    @property
    def accepted(self) -> list[Received]:
        """Requests answered 2xx, duplicates (same idempotency key) left out."""
        return [
            r
            for r in self.received
            if r.status is not None and 200 <= r.status < 300 and not r.duplicate
        ]

    def clear(self) -> None:
        """Forget what was received (the accepted keys too)."""
        with self._lock:
            self._received.clear()
            self._accepted_keys.clear()

    def wait_for(self, n: int, timeout_s: float = 10.0, *, accepted: bool = True) -> bool:
        """Wait until ``n`` requests (by default: accepted, distinct ones) arrived."""
        deadline = time.monotonic() + timeout_s

        def count() -> int:
            if not accepted:
                return len(self._received)
            return sum(
                1
                for r in self._received
                if r.status is not None and 200 <= r.status < 300 and not r.duplicate
            )

        with self._arrived:
            while count() < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True


def main(argv: list[str] | None = None) -> None:
    """Run a receiver in the foreground and print each request (Ctrl-C stops)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--secret", default=None, help="verify signatures with this secret")
    args = ap.parse_args(argv)
    rx = WebhookReceiver(secret=args.secret, port=args.port).start()
    print(f"listening on {rx.url}", flush=True)
    seen = 0
    try:
        while True:
            rx.wait_for(seen + 1, timeout_s=1.0, accepted=False)
            items = rx.received
            for r in items[seen:]:
                print(
                    f"{r.status} sig={r.signature_ok} key={r.key} "
                    f"{json.dumps(r.json, ensure_ascii=False)[:200]}",
                    flush=True,
                )
            seen = len(items)
    except KeyboardInterrupt:
        pass
    finally:
        rx.stop()


if __name__ == "__main__":
    main()
