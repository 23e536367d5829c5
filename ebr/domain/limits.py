"""Limits of a recorded value: target ± tolerance and/or min/max, inclusive unless said otherwise."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal


@dataclass(frozen=True)
class LimitResult:
    """Whether a value is within its limits, and if not, why in words QA reads."""

    within: bool
    reason: str = ""


@dataclass(frozen=True)
class Limit:
    """Acceptance limits of one field (21 CFR 211.188(b)(5))."""

    target: Decimal | None = None
    tolerance: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    unit: str = ""
    scaled: bool = False  # target and tolerance are per nominal batch, multiplied by the batch's scale factor

    def times(self, factor: Decimal) -> Limit:
        """This limit for a batch of factor times the nominal size: target and tolerance scaled, min/max as written."""
        if not self.scaled or self.target is None or self.tolerance is None:
            return self
        return replace(self, target=self.target * factor, tolerance=self.tolerance * factor)

    def bounds(self) -> tuple[Decimal | None, Decimal | None]:
        """The effective low and high bound: the tighter of target ± tolerance and min/max."""
        low, high = self.minimum, self.maximum
        if self.target is not None and self.tolerance is not None:
            t_low, t_high = self.target - self.tolerance, self.target + self.tolerance
            low = t_low if low is None else max(low, t_low)
            high = t_high if high is None else min(high, t_high)
        return low, high

    def evaluate(self, value: Decimal) -> LimitResult:
        """Check one value; the reason names the broken bound with its unit."""
        low, high = self.bounds()
        unit = f" {self.unit}" if self.unit else ""
        if low is not None and (value < low or (self.min_exclusive and value == low)):
            sign = ">" if self.min_exclusive else "≥"
            return LimitResult(False, f"{value}{unit} is below the limit ({sign} {low}{unit})")
        if high is not None and (value > high or (self.max_exclusive and value == high)):
            sign = "<" if self.max_exclusive else "≤"
            return LimitResult(False, f"{value}{unit} is above the limit ({sign} {high}{unit})")
        return LimitResult(True)

    def describe(self) -> str:
        """The limit as printed on screen and in the record."""
        unit = f" {self.unit}" if self.unit else ""
        parts = []
        if self.target is not None:
            parts.append(f"{self.target}{unit}" + (f" ± {self.tolerance}{unit}" if self.tolerance is not None else ""))
        if self.minimum is not None:
            parts.append(f"{'>' if self.min_exclusive else '≥'} {self.minimum}{unit}")
        if self.maximum is not None:
            parts.append(f"{'<' if self.max_exclusive else '≤'} {self.maximum}{unit}")
        return ", ".join(parts)
