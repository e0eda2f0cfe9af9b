"""Throttling and retry policies, client side and server side: pure code, time and randomness passed in.

Client side (`ClientPolicy`: one object per client, `new_call()` per request):
    backoff.NoRetry, ImmediateRetry, FixedDelay, ExponentialBackoff (none/full/equal/decorrelated jitter)
    aws.AwsStandard, AwsAdaptive
    budgets.GrpcRetryThrottling, FinagleRetryBudget, SreAdaptiveThrottling, CircuitBreaker
Server side (plugged into services.node.capacity.CapacityModel):
    admission.AdmitAll, TokenBucketLimit, ConcurrencyLimit, QueueSizeAdmission, AimdLimit, VegasLimit, GradientLimit
    disciplines.Fifo, Lifo, QueueAgeShedding, CoDel
    (deadline-aware dropping of expired work is CapacitySpec.drop_expired)
"""

from services.throttling.admission import (
    AdmitAll,
    AimdLimit,
    ConcurrencyLimit,
    GradientLimit,
    QueueSizeAdmission,
    TokenBucketLimit,
    VegasLimit,
)
from services.throttling.aws import AwsAdaptive, AwsStandard, CubicRateLimiter, RetryQuota
from services.throttling.backoff import ExponentialBackoff, FixedDelay, ImmediateRetry, NoRetry, RetrySchedule
from services.throttling.base import Admission, ClientPolicy
from services.throttling.budgets import CircuitBreaker, FinagleRetryBudget, GrpcRetryThrottling, SreAdaptiveThrottling
from services.throttling.disciplines import CoDel, Fifo, Lifo, QueueAgeShedding
from services.throttling.outcome import Outcome

__all__ = [
    "Admission",
    "AdmitAll",
    "AimdLimit",
    "AwsAdaptive",
    "AwsStandard",
    "CircuitBreaker",
    "ClientPolicy",
    "CoDel",
    "ConcurrencyLimit",
    "CubicRateLimiter",
    "ExponentialBackoff",
    "Fifo",
    "FinagleRetryBudget",
    "FixedDelay",
    "GradientLimit",
    "GrpcRetryThrottling",
    "ImmediateRetry",
    "Lifo",
    "NoRetry",
    "Outcome",
    "QueueAgeShedding",
    "QueueSizeAdmission",
    "RetryQuota",
    "RetrySchedule",
    "SreAdaptiveThrottling",
    "TokenBucketLimit",
    "VegasLimit",
]
