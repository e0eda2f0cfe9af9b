"""The exception tree of the simulated cloud.

    CascadesimError
     ├── DnsError                  a DNS lookup did not produce addresses
     │    ├── NameNotFound         NXDOMAIN: the name does not exist in the zone
     │    ├── NoAnswer             NOERROR/NODATA: the name exists, its record set is empty
     │    └── ResolverUnavailable  no usable answer: timeout, SERVFAIL, unreachable server
     ├── InvalidChangeBatch        Route 53 rejected a change batch as a whole (nothing was applied)
     └── NodeUnreachable           nothing listens at the address a request was sent to

Scenario problems live in `scenarios.schema.ScenarioError`, which also derives from CascadesimError.
"""

from __future__ import annotations


class CascadesimError(Exception):
    """Base of every error cascadesim raises on purpose."""


class DnsError(CascadesimError):
    """A DNS lookup did not produce addresses."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name


class NameNotFound(DnsError):
    """NXDOMAIN: the name does not exist."""


class NoAnswer(DnsError):
    """NOERROR with an empty answer (NODATA): the name exists but has no addresses."""


class ResolverUnavailable(DnsError):
    """The resolver timed out, failed (SERVFAIL) or could not be reached."""


class InvalidChangeBatch(CascadesimError):
    """Route 53's InvalidChangeBatch: one change in the batch cannot apply, so none does."""


class NodeUnreachable(CascadesimError):
    """Nothing listens at the address a request was sent to (connection refused)."""
