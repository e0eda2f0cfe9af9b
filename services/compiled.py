"""The optional compiled build (setup.py): which build a process gets, and the modules compiled; or remove it.

python -m services.compiled            # the build a process gets, and the compiled modules
python -m services.compiled --clean    # remove the build: back to the Python source
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from services.native import ROOT, compiled_modules, group_library, source_only


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled build")
    args = parser.parse_args(argv)
    library = group_library()
    modules = compiled_modules()
    if args.clean:
        for source in modules:
            for extension in source.parent.glob(source.stem + ".*.so"):
                extension.unlink()
        if library is not None:
            library.unlink()
        print(f"removed the compiled build ({len(modules)} modules)")
        return 0
    if library is None:
        print("no compiled build: every module runs from its Python source")
        return 0
    state = (
        "the Python source (CASCADESIM_COMPILED=1 not set, or a stale build)" if source_only() else "the compiled build"
    )
    print(f"compiled build: {library.name}, {len(modules)} modules; this process runs {state}")
    for source in modules:
        print(f"  {source.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
