"""``python -m mlops_course.serving.healthcheck [URL]``: exit 0 when the API answers, else 1.

The container's liveness command: the API image's ``HEALTHCHECK`` and the probe podman runs for
the Kubernetes manifest. Standard library only, so it starts in a few tens of milliseconds and
the image needs no curl. No argument contains a space on purpose: podman 4.3 turns a Kubernetes
``exec`` probe into a shell string by joining its words, which breaks ``python -c "<code>"``.
"""

from __future__ import annotations

import sys
import urllib.request

URL = "http://127.0.0.1:8000/health"
"""The API's liveness endpoint inside its container (the image's CMD listens on port 8000)."""


def healthy(url: str = URL, timeout: float = 4.0) -> bool:
    """Whether ``url`` answers 200 within ``timeout`` seconds.

    Parameters
    ----------
    url
        The endpoint to ask; loopback, so proxies from the environment are ignored.
    timeout
        Seconds before the check counts as failed (the probe's own timeout is longer).
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status == 200
    except OSError as error:  # refused, timed out, or an HTTP error status
        print(f"{url}: {error}", file=sys.stderr)
        return False


if __name__ == "__main__":
    sys.exit(0 if healthy(sys.argv[1] if len(sys.argv) > 1 else URL) else 1)
