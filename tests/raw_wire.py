"""A raw-socket client for tests that speak to a real Godot byte by byte (no rlgodot client).

Every read has a deadline (the socket timeout), so a test never hangs on a silent server.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

HOST = "127.0.0.1"


class RawClient:
    """One TCP connection to a Godot server, sending and reading frames by hand."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_body(self, body: bytes) -> None:
        self.sock.sendall(struct.pack("<I", len(body)) + body)

    def send(self, message: dict[str, Any]) -> None:
        self.send_body(json.dumps(message).encode())

    def _exact(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError(f"closed after {len(data)} of {n} bytes")
            data += chunk
        return bytes(data)

    def recv_body(self) -> bytes:
        (size,) = struct.unpack("<I", self._exact(4))
        return self._exact(size)

    def recv(self) -> dict[str, Any]:
        body = self.recv_body()
        assert body[:1] == b"{", f"expected a JSON reply, got {body[:16]!r}"
        return json.loads(body)

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(message)
        return self.recv()

    def hello(self, token: str | None, **config: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "hello", "protocol": 1, "codecs": ["json"],
                                   "config": config}
        if token is not None:
            message["token"] = token
        return self.request(message)

    def is_closed(self, timeout: float = 5.0) -> bool:
        """True when the peer closes within ``timeout`` (data first is read and dropped)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
