"""A TCP proxy between a camera reader and the RTSP server that can damage the stream.

RTSP over TCP carries the RTP packets interleaved on the same connection, so what the
proxy does to the bytes from the server is what a bad link or a failing camera does to
the packets: :meth:`TcpProxy.mangle` flips bytes and cuts slices out of the stream
(corrupt and truncated packets), :meth:`TcpProxy.cut` drops every open connection (a
network blip), and :meth:`TcpProxy.clean` passes bytes through untouched again.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading

_CHUNK = 65536


class TcpProxy:
    """Listens on 127.0.0.1:<port> and forwards to ``target_port``.

    Args:
        target_port: the server's port on 127.0.0.1.
        seed: seeds the damage (reproducible byte flips).
    """

    def __init__(self, target_port: int, seed: int = 0) -> None:
        self.target_port = target_port
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._flip_p = 0.0  # per chunk: probability of flipping a few bytes
        self._cut_p = 0.0  # per chunk: probability of dropping a slice of bytes
        self._conns: list[socket.socket] = []
        self.damaged_chunks = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ faults
    def mangle(self, flip_p: float = 0.3, cut_p: float = 0.1) -> None:
        """Damage chunks from the server: flip bytes (``flip_p``), drop slices (``cut_p``)."""
        with self._lock:
            self._flip_p, self._cut_p = flip_p, cut_p

    def clean(self) -> None:
        """Forward bytes untouched again."""
        with self._lock:
            self._flip_p = self._cut_p = 0.0

    def cut(self) -> None:
        """Close every open connection (both sides see a reset / EOF)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def close(self) -> None:
        """Stop listening and drop the connections."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _damage(self, data: bytes) -> bytes:
        with self._lock:
            flip_p, cut_p, rng = self._flip_p, self._cut_p, self._rng
            if not (flip_p or cut_p) or len(data) < 16:
                return data
            buf = bytearray(data)
            damaged = False
            if rng.random() < flip_p:
                for _ in range(1 + len(buf) // 2000):
                    buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
                damaged = True
            if rng.random() < cut_p:
                a = rng.randrange(len(buf))
                del buf[a : a + rng.randrange(1, min(1400, len(buf) - a) + 1)]
                damaged = True
            if damaged:
                self.damaged_chunks += 1
            return bytes(buf)

    def _pump(self, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        try:
            while True:
                data = src.recv(_CHUNK)
                if not data:
                    break
                dst.sendall(self._damage(data) if from_server else data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self._lock:
                self._conns = [c for c in self._conns if c not in (src, dst)]
