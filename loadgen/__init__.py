"""The load: the virtual users (loadgen/virtual.py) and the Locust users (loadgen/locustfile.py)."""

from services.native import use_source_if_asked

use_source_if_asked()  # as services/__init__.py: the source over a compiled build, if asked or if it is stale
