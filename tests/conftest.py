"""Guards shared by every test: nothing may reach the network except loopback.

The course promises to run offline. In-process code that tries to connect anywhere but
127.0.0.1 / ::1 / a Unix socket fails the test at once with a message naming the address, instead
of hanging on a timeout or passing on a machine that happens to be online.
"""

from __future__ import annotations

import socket

import pytest

_LOOPBACK = ("127.", "::1", "localhost")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(address: object) -> None:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if not host.startswith(_LOOPBACK):
            raise RuntimeError(
                f"test tried to reach the network at {address!r}: only loopback is allowed"
            )


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
