"""What a client learns from one attempt, and which outcomes are worth retrying."""

from __future__ import annotations

from dataclasses import dataclass

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "Throttling",
    }
)
LOCAL = "rejected locally"


@dataclass(frozen=True)
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
        return self.error_code in THROTTLING_CODES

    @property
    def timed_out(self) -> bool:
        return self.failure is not None and self.failure.startswith("timed out")

    @property
    def rejected_locally(self) -> bool:
        """The client's own throttle refused to send it (circuit open, adaptive throttling)."""
        return self.failure == LOCAL

    @property
    def retryable(self) -> bool:
        """Throttles, server errors and failures to get any answer; never a client error or a local rejection."""
        if self.rejected_locally:
            return False
        if self.status is None:
            return True
        return self.throttled or self.status >= 500
