"""Loaded by Python at start-up when `cascadesim exec` puts this directory first on PYTHONPATH.

With CASCADESIM_RESOLVER set, the cloud's names resolve through the shared resolver (cascadesim_names.py);
without it, nothing changes. Either way, the `sitecustomize` this one shadows (a distribution's, a virtualenv's,
the user's) still runs, as it would have without cascadesim.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys


def _resolve_cloud_names() -> None:
    if not os.environ.get("CASCADESIM_RESOLVER"):
        return
    try:
        import cascadesim_names  # type: ignore[import-not-found]  # this directory, on the program's path
    except ImportError:  # this interpreter has no dnspython: use the one cascadesim runs with (pure Python)
        fallback = os.environ.get("CASCADESIM_DNSPYTHON")
        if not fallback:
            raise
        sys.path.append(fallback)
        import cascadesim_names
    names = cascadesim_names.from_environment()
    if names is not None:
        cascadesim_names.install(names)


def _run_shadowed() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


try:
    _resolve_cloud_names()
finally:
    _run_shadowed()
