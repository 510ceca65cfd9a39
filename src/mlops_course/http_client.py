"""HTTP checks of the course's services (health, readiness), through one client per process.

``httpx.get`` builds a new client for every call, and a client loads the system's CA bundle
into a TLS context even for plain ``http://`` (measured here: 39 ms of CPU per call, against
0.2 ms on a kept client). The services' health checks poll several times a second while a server
starts, so with ``httpx.get`` the polling took CPU from the very server it waited for. Keep-alive
is off: a poll must never reuse a connection to a server that has since stopped, and a new
loopback connection costs microseconds. ``trust_env=False``: a proxy from the environment must
never see loopback traffic (and the checks never went through one).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


@functools.cache
def client() -> httpx.Client:
    """The process's client for service checks (thread-safe; pass ``timeout=`` per request)."""
    import httpx

    return httpx.Client(trust_env=False, limits=httpx.Limits(max_keepalive_connections=0))
