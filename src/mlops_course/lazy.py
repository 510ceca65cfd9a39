"""Package namespaces that import each name on first use.

``mlops_course.serving``, ``.monitoring`` and ``.ct`` export their main names at the top
(``from mlops_course.monitoring import detect_drift``), but importing one light submodule (the
request models, the drift statistics, the trigger policy) must not import its heavy siblings
(FastAPI, MLflow, scikit-learn) through the package's ``__init__``. Not for a name that is also a
submodule's name: importing the submodule would shadow the lazy export (the reason the retraining
module is ``ct.retraining`` and its function ``retrain``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``name`` from the module ``where[name]`` when used.

    Parameters
    ----------
    package : str
        The package's ``__name__``, for the error message.
    where : mapping
        Each exported name and the module that defines it.
    """

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(where[name]), name)

    return __getattr__
