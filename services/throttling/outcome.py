"""What a client learns from one attempt, and which outcomes are worth retrying.

Which codes are throttles and which are transient follows botocore's standard retry mode
(`botocore/retries/standard.py`: its throttled and transient error codes, and 500/502/503/504 as transient
statuses); a 429 is a throttle whatever its code (HTTP's "Too Many Requests", RFC 6585 §4).
"""

from __future__ import annotations

from dataclasses import dataclass

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
TOO_MANY_REQUESTS = 429
LOCAL = "rejected locally"


@dataclass(slots=True)  # not frozen: one per attempt, and a frozen dataclass costs three times as much to build
class Outcome:
    """One attempt: an HTTP status and error code, or a failure before any response (timeout, DNS, refused)."""

    attempt: int
    status: int | None = None
    error_code: str | None = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def throttled(self) -> bool:
        return self.error_code in THROTTLING_CODES or self.status == TOO_MANY_REQUESTS

    @property
    def timed_out(self) -> bool:
        return self.failure is not None and self.failure.startswith("timed out")

    @property
    def rejected_locally(self) -> bool:
        """The client's own throttle refused to send it (circuit open, adaptive throttling)."""
        return self.failure == LOCAL

    @property
    def retryable(self) -> bool:
        """Throttles, transient errors and failures to get any answer; never a client error or a local
        rejection."""
        if self.rejected_locally:
            return False
        if self.status is None:
            return True
        return self.throttled or self.status in TRANSIENT_STATUSES or self.error_code in TRANSIENT_CODES
