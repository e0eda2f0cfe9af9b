"""The exception tree in services/errors.py's docstring is the whole truth about the services' exceptions."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from typing import cast

import services
from services import errors
from services.errors import CascadesimError


def service_exceptions() -> list[type[BaseException]]:
    """Every exception class defined in a module of the services package."""
    found: dict[str, type[BaseException]] = {}
    for module in pkgutil.walk_packages(services.__path__, "services."):
        for _, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            # Exceptions only: the virtual kernel's Cancelled is control flow (a BaseException), as trio's is.
            if issubclass(value, Exception) and value.__module__.startswith("services."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def drawn_parents(tree: str) -> dict[str, str]:
    """Each class in the drawing, with the class it hangs from."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []  # (column, name) of the branches above the current line
    for line in tree.splitlines():
        match = re.search(r"[├└]── (\w+)", line) or re.fullmatch(r"\s*(CascadesimError)\s*", line)
        if match is None:
            continue
        while stack and stack[-1][0] >= match.start():
            stack.pop()
        if stack:
            parents[match.group(1)] = stack[-1][1]
        stack.append((match.start(), match.group(1)))
    return parents


def test_every_exception_of_the_services_is_in_the_tree_and_derives_from_its_root() -> None:
    """Each one derives from CascadesimError and is drawn under its own base class; one defined elsewhere than
    services/errors.py is drawn with its module."""
    exceptions = service_exceptions()
    assert len(exceptions) >= 20
    tree = errors.__doc__ or ""
    parents = drawn_parents(tree)
    for exception in exceptions:
        assert issubclass(exception, CascadesimError), exception
        if exception is CascadesimError:
            continue
        base = cast(type, exception.__base__)  # None only for object itself
        assert parents.get(exception.__name__) == base.__name__, exception
        if exception.__module__ != "services.errors" and exception.__base__ is CascadesimError:
            where = exception.__module__.replace(".", "/") + ".py"
            assert re.search(rf"── {exception.__name__} +{where}:", tree), f"the tree does not say {where}"


def test_the_tree_is_drawn_with_consistent_indentation() -> None:
    """Every branch of the root starts in the same column as the root's first branch."""
    lines = [line for line in (errors.__doc__ or "").splitlines() if "──" in line]
    columns = {line.index("├──") if "├──" in line else line.index("└──") for line in lines if "│" not in line}
    assert len(columns) == 1, columns
