"""EXPERIMENTAL, NOT FOR USE YET: the hot modules of services/ and loadgen/ compiled with mypyc, beside their source.

Known defect (2026-12-07): with CASCADESIM_COMPILED=1 the full replay (scenarios/aws-2025-10-19.toml --virtual)
segfaults after its last simulated second, while its tasks are cancelled: compiled code loses the exception of a
cancelled task somewhere on that path (cascade-live crashed the same way at 12 s while loadgen/virtual.py was
compiled). Every other shipped scenario runs and writes the same files as the Python source. Until that is found,
nothing runs this build unless asked, and neither the README nor CI offers it.


The Python source is the reference and what a plain install runs (no compiler needed: `pip install -e .` builds
nothing). With CASCADESIM_COMPILE=1 this file also builds one extension per module in COMPILED, in place, next to
its .py file, which Python then imports instead:

    CASCADESIM_COMPILE=1 .venv/bin/python setup.py build_ext --inplace      # needs mypy (the dev extra) and gcc
    CASCADESIM_COMPILED=1 .venv/bin/cascadesim run scenarios/aws-2025-10-19.toml --virtual
    .venv/bin/python -m services.compiled                                     # which modules run compiled
    .venv/bin/python -m services.compiled --clean                             # back to the pure-Python build

A process runs the build only when asked, with CASCADESIM_COMPILED=1 (virtual runs, sweeps and comparisons: live
runs, Locust's processes and the tests run the source; services/native.py says why), and never a compiled module
older than its source (a warning says so). Both builds give the same runs byte for byte (tests/test_determinism.py).
"""

from __future__ import annotations

import os

from setuptools import setup

# Modules left out stay Python: package __init__ files (the seam's re-exports), the runtime seam (it rebinds its own
# names to the kernel's methods while a kernel is installed), the one generator-based coroutine (runtime/traps.py),
# the Locust users (gevent), a few modules mypyc does not take as they are (a generic class, an exception
# hierarchy, the enums of event kinds), and every module that awaits in a `finally` block (loadgen/virtual.py,
# topology/cloud.py, topology/nginx.py, dns/control.py): compiled, a task cancelled there lost its exception and the
# process crashed (cascade-live at 12 s, the replay at its end).
COMPILED = [
    "loadgen/behaviour.py",
    "loadgen/plan.py",
    "services/client/exchange.py",
    "services/client/service_client.py",
    "services/dns/authority.py",
    "services/dns/cache.py",
    "services/dns/enactor.py",
    "services/dns/planner.py",
    "services/dns/plans.py",
    "services/dns/resolver.py",
    "services/dns/stub.py",
    "services/dns/wire.py",
    "services/dns/zone.py",
    "services/dynamodb/calls.py",
    "services/dynamodb/errors.py",
    "services/dynamodb/evaluate.py",
    "services/dynamodb/items.py",
    "services/dynamodb/params.py",
    "services/dynamodb/reads.py",
    "services/dynamodb/router.py",
    "services/dynamodb/tables.py",
    "services/dynamodb/values.py",
    "services/ec2/api.py",
    "services/ec2/canary.py",
    "services/ec2/dwfm.py",
    "services/ec2/netmgr.py",
    "services/lambda_/function.py",
    "services/lambda_/poller.py",
    "services/lambda_/service.py",
    "services/net/addresses.py",
    "services/net/http.py",
    "services/net/json_codec.py",
    "services/net/network.py",
    "services/net/outside.py",
    "services/net/protocol.py",
    "services/net/virtual_network.py",
    "services/node/capacity.py",
    "services/node/internal_errors.py",
    "services/node/metrics.py",
    "services/node/restartable.py",
    "services/runtime/draws.py",
    "services/runtime/kernel.py",
    "services/runtime/sansio.py",
    "services/runtime/tasks.py",
    "services/throttling/admission.py",
    "services/throttling/aws.py",
    "services/throttling/backoff.py",
    "services/throttling/base.py",
    "services/throttling/budgets.py",
    "services/throttling/outcome.py",
    "services/throttling/settings.py",
    "services/topology/declared.py",
    "services/topology/nlb.py",
    "services/topology/nlb_health.py",
]

ext_modules = []
if os.environ.get("CASCADESIM_COMPILE") == "1":
    from mypyc.build import mypycify

    ext_modules = mypycify(COMPILED, opt_level="3", group_name="cascadesim_compiled")

setup(ext_modules=ext_modules)
