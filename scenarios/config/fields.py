"""The base of every config model (scenarios and policy sets) and the field types they share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Port = Annotated[int, Field(ge=1, le=65535)]


class ConfigModel(BaseModel):
    """Frozen, and unknown keys are errors: every config model derives from this."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)
