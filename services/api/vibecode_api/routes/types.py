"""What the request models share."""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


INTEGRAL = BeforeValidator(_integral)
"""For `Annotated[int, Field(ge=…, le=…), INTEGRAL]`: an integer as JSON Schema means it (`3.0`
is one), which pydantic's strict int refuses. It goes after the bounds, or pydantic's schema
would not name them as JSON Schema's minimum and maximum."""
