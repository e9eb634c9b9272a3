"""Result objects of the assumption checks; every report field comes from a `to_dict()`.

>>> r = AssumptionResult("holds", "Gaussian observation noise", {})
>>> r.to_dict()
{'status': 'holds', 'reason': 'Gaussian observation noise'}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["AssumptionResult", "Status"]

Status = Literal["holds", "fails", "unknown"]


@dataclass(frozen=True)
class AssumptionResult:
    """The verdict on one assumption ((i), (ii) or (iii)) with its reason and the evidence (`details`,
    flattened into the JSON next to `status` and `reason`)."""

    status: Status
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: status, reason, then the details (CONTRACT §2)."""
        return {"status": self.status, "reason": self.reason, **self.details}

    def __str__(self) -> str:
        return f"{self.status}: {self.reason}"
