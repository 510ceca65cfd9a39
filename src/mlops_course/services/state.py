"""Services that outlive the command that started them: ``mlops-course services up|status|down``.

``services up`` starts detached services and records them in ``<workdir>/services.json``;
``status`` and ``down`` read that record back.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_course.services.process import Service
from mlops_course.settings import get_settings


def _state_file() -> Path:
    return Path(get_settings().workdir).resolve() / "services.json"


def read_state() -> dict[str, Service]:
    """Services that ``services up`` started and recorded, by name."""
    path = _state_file()
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    return {
        name: Service(d["name"], d["url"], int(d["pid"]), Path(d["log_path"]), d["health_path"])
        for name, d in raw.items()
    }


def write_state(services: dict[str, Service]) -> None:
    path = _state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({n: s.to_dict() for n, s in services.items()}, indent=2))
    tmp.replace(path)
