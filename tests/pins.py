"""Reading `name==version` pins (requirements files, `pip freeze`, a model's requirements.txt).

One reader for every test that compares pins, so they all normalise names as pip does
(`Foo_Bar` and `foo-bar` are one package) and read comments and environment markers alike.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.utils import canonicalize_name

_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)")


def parse_pins(text: str, *, strict: bool = False, source: str = "the text") -> dict[str, str]:
    """{canonical name: version} of every `name==version` line of ``text``.

    ``strict``: every line that is not blank or a comment must be such a pin (a lock file).
    """
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if match is None:
            assert not strict, f"{source}: {line!r} is not pinned with =="
            continue
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def read_pins(path: Path, *, strict: bool = False) -> dict[str, str]:
    """:func:`parse_pins` of a file."""
    return parse_pins(path.read_text(encoding="utf-8"), strict=strict, source=path.name)
