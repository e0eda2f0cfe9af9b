"""The optional compiled build (setup.py): is it there, is it current, and the switch back to the Python source.

setup.py compiles the hot modules of services/ and loadgen/ with mypyc, in place: beside each module's .py file an
extension (.so) that Python imports first, and the code of them all in one library at the top
(cascadesim_compiled__mypyc*.so). The Python source stays the reference, and what a process runs unless it asks
for the build with CASCADESIM_COMPILED=1. Before either package imports a module, `use_source_if_asked()` (called by
services/__init__.py and loadgen/__init__.py) makes Python take the source instead of the extensions when

- CASCADESIM_COMPILED=1 is not set: the build is for virtual runs, sweeps and comparisons. Compiled code checks
  every annotated type at run time, which the tests' stand-ins and the live transports do not all keep to, and
  Locust's processes run under gevent's monkey-patching; those run the source;
- or a compiled module's .py file is newer than the build: an edit since the build must not be shadowed by a stale
  extension (a warning says so).

The decision is made once per process, before the first of the modules is imported: one module compiled and
another from its source would each have classes of their own.

The command that shows and removes the build is services/compiled.py.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("services", "loadgen")
GROUP = "cascadesim_compiled__mypyc"  # setup.py's group_name, and mypyc's suffix


class _SourceOnly(importlib.abc.MetaPathFinder):
    """Finds the packages' modules as .py files only, never as the extensions beside them."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in PACKAGES:
            return None
        for entry in path if path is not None else sys.path:
            finder = importlib.machinery.FileFinder(
                entry or ".", (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
            )
            spec = finder.find_spec(fullname, target)
            if spec is not None:
                return spec
        return None


def group_library() -> Path | None:
    """The compiled build's shared library, if there is one."""
    return next(ROOT.glob(f"{GROUP}*.so"), None)


def compiled_modules() -> list[Path]:
    """The .py files that have a compiled extension beside them."""
    found = []
    for package in PACKAGES:
        for extension in (ROOT / package).rglob("*.so"):
            source = extension.with_name(extension.name.split(".", 1)[0] + ".py")
            if source.exists():
                found.append(source)
    return sorted(found)


def stale(library: Path) -> list[Path]:
    """The compiled modules whose source changed after the build."""
    built = library.stat().st_mtime
    return [source for source in compiled_modules() if source.stat().st_mtime > built]


def source_only() -> bool:
    """Whether this process takes the Python source over the compiled build."""
    return any(isinstance(finder, _SourceOnly) for finder in sys.meta_path)


def use_source_if_asked() -> None:
    """Take the Python source over the compiled build unless asked for it (CASCADESIM_COMPILED=1), and when the
    build is stale."""
    if source_only():
        return
    library = group_library()
    if library is None:
        return  # no compiled build: the source is all there is
    if os.environ.get("CASCADESIM_COMPILED") == "1":
        changed = stale(library)
        if not changed:
            return
        warnings.warn(
            f"the compiled build is older than {len(changed)} of its modules ({changed[0].relative_to(ROOT)}, ...): "
            "running the Python source; rebuild it (setup.py) or remove it (python -m services.compiled --clean)",
            stacklevel=2,
        )
    sys.meta_path.insert(0, _SourceOnly())
