"""The exception tree of the simulated cloud: every exception the services raise on purpose derives from it.

Most are defined here; the others live next to the code that raises them, and the tree names their module.

    CascadesimError
     ├── DnsError                  a DNS lookup did not produce addresses
     │    ├── NameNotFound         NXDOMAIN: the name does not exist in the zone
     │    ├── NoAnswer             NOERROR/NODATA: the name exists, its record set is empty
     │    └── ResolverUnavailable  no usable answer: timeout, SERVFAIL, unreachable server
     ├── InvalidChangeBatch        Route 53 rejected a change batch as a whole (nothing was applied)
     ├── NodeUnreachable           nothing listens at the address a request was sent to
     ├── CallFailed                an internal call got no response at all (DNS, connection, timeout)
     ├── ListenError               a node could not listen on its address (usually: already in use)
     ├── Overloaded                services/node/capacity.py: the node's queue is full, the request was not queued
     ├── DeadlineExceeded          services/node/capacity.py: the deadline had passed when a worker picked it up
     ├── Shed                      services/node/capacity.py: the queue discipline dropped the request as it waited
     ├── DynamoError               services/dynamodb/errors.py: answered with DynamoDB's `__type` and status
     │    ├── ValidationException                  400  bad parameters or expressions
     │    ├── SerializationException               400  the body is not the JSON the operation expects
     │    ├── UnknownOperationException            400  X-Amz-Target names no operation
     │    ├── ResourceNotFoundException            400  no such table
     │    ├── ResourceInUseException               400  the table already exists
     │    ├── ConditionalCheckFailedException      400  a ConditionExpression was false
     │    ├── ThrottlingException                  400  the router's queue is full (SDKs retry it)
     │    ├── ServiceUnavailable                   503  expired work dropped by a deadline-aware router
     │    └── InternalServerError                  500  a bug of ours (the router also logs an internal_error)
     ├── Ec2Error                  services/ec2/api.py: answered as EC2's {"Error": {"Code", "Message"}}
     ├── QueryError                services/net/query.py: a query-protocol request refused, answered in EC2's or
     │                             STS's XML error with its code and status
     ├── LeaseWorkFailed           services/ec2/dwfm.py: a DynamoDB call of a lease work item did not succeed
     ├── LambdaError               services/lambda_/function.py: answered with Lambda's error code and status
     ├── StalledError              services/runtime/kernel.py: every task of a virtual run waits, nothing is scheduled
     ├── NginxUnavailable          services/topology/nginx.py: nginx is not installed, too old, or would not start
     ├── DependencyFailed          services/topology/declared.py: a declared call failed, no cached answer stood in
     └── ScenarioError             scenarios/config/problems.py (re-exported by config.schema): a scenario or policy
                                   set is invalid; one line that names the file, the field and the problem

The virtual kernel's `Cancelled` (services/runtime/kernel.py) is not an error but control flow, as trio's is: a
BaseException, so that no `except Exception` in a service swallows a cancellation.

Bad arguments to a constructor (a negative latency, a non-loopback address) raise the built-in ValueError: they are
mistakes in the calling code or the config, caught at the edge, not events of the simulation.
"""

from __future__ import annotations


class CascadesimError(Exception):
    """Base of every error cascadesim raises on purpose."""


class DnsError(CascadesimError):
    """A DNS lookup did not produce addresses."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.detail = detail

    def again(self) -> DnsError:
        """The same failure as a new exception, for a cached answer: raising one instance over and over would
        chain every raise's frames onto its traceback (hours of a cached NODATA held gigabytes)."""
        return type(self)(self.name, self.detail)


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


class ListenError(CascadesimError):
    """A node could not bind its address; the message names the protocol, the address and the reason."""

    def __init__(self, protocol: str, address: tuple[str, int], reason: OSError) -> None:
        detail = reason.strerror or str(reason)
        super().__init__(f"cannot listen on {protocol} {address[0]}:{address[1]}: {detail}")
        self.address = address


class CallFailed(CascadesimError):
    """An internal call to a service got no HTTP response: its name did not resolve, or nothing answered."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason
