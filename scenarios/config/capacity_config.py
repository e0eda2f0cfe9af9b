"""A node's capacity model as a scenario writes it (services/node/capacity.py's CapacitySpec), for the DynamoDB routers
and for the services a scenario declares alike."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from scenarios.config.fields import ConfigModel, PositiveSeconds, Seconds
from scenarios.config.problems import FieldProblem


class ServiceTimeConfig(ConfigModel):
    kind: Literal["constant", "exponential", "lognormal"] = "exponential"
    mean: Seconds = 0.005
    p99: PositiveSeconds | None = None


class CapacityConfig(ConfigModel):
    """A node's capacity model: see services/node/capacity.py."""

    workers: int = Field(64, ge=1, le=100_000)
    queue_limit: int = Field(1024, ge=0, le=10_000_000)
    service_time: ServiceTimeConfig = ServiceTimeConfig()
    drop_expired: bool = False

    @model_validator(mode="after")
    def _lognormal_has_p99(self) -> CapacityConfig:
        from services.node.capacity import ServiceTime

        st = self.service_time
        try:
            ServiceTime(st.kind, st.mean, st.p99)
        except ValueError as exc:
            raise FieldProblem("service_time", st.model_dump(exclude_none=True), str(exc)) from None
        return self
