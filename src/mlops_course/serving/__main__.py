"""``python -m mlops_course.serving``: run the model API (settings from ``MLOPS_`` variables).

Options override the environment. The token is deliberately not an option: command lines are
visible to every user of the machine (``ps``), so it comes from ``MLOPS_API_TOKEN`` only.
"""

from __future__ import annotations

import argparse
from typing import Any

from mlops_course.serving.server import DEFAULT_PORT, listen_address


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_course.serving", description="Serve the trip-duration model."
    )
    parser.add_argument("--host", help="interface to bind (default: MLOPS_HOST, loopback)")
    parser.add_argument(
        "--port", type=int, help=f"port to listen on (default: MLOPS_API_PORT, else {DEFAULT_PORT})"
    )
    parser.add_argument("--tracking-uri", help="MLflow server (default: MLOPS_TRACKING_URI)")
    parser.add_argument("--model-name", help="registered model (default: MLOPS_MODEL_NAME)")
    parser.add_argument("--model-alias", help="alias to serve (default: champion)")
    parser.add_argument(
        "--reload-poll-seconds", type=float, help="retry/poll interval (default: 3)"
    )
    parser.add_argument(
        "--watch-alias",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="load a new version when the alias moves",
    )
    parser.add_argument("--max-batch", type=int, help="most trips per batch (default: 1000)")
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error")
    args = parser.parse_args(argv)

    from mlops_course.serving.server import serve
    from mlops_course.serving.settings import ServingSettings

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "tracking_uri": args.tracking_uri,
            "model_name": args.model_name,
            "model_alias": args.model_alias,
            "reload_poll_seconds": args.reload_poll_seconds,
            "watch_alias": args.watch_alias,
            "max_batch": args.max_batch,
        }.items()
        if value is not None
    }
    host, port = listen_address(args.host, args.port)
    serve(host, port, ServingSettings(**overrides), log_level=args.log_level)


if __name__ == "__main__":
    main()
