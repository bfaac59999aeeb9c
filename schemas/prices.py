"""The price table (`O11Y_PRICES`): dollars per million tokens per model, optionally per provider, from a date on.

Prices are applied when a question is asked, never stored with the events: correcting a price corrects history.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.api_metrics import MAX_NAME

Dollars = float


class Price(BaseModel):
    """What one model costs (on one provider, or on any) from `from` until the next price of the same model and provider."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    model: str = Field(min_length=1, max_length=MAX_NAME, description="The resolved model, exactly as events name it.")
    provider: str | None = Field(default=None, min_length=1, max_length=MAX_NAME,
                                 description="Only on this provider; a provider's price beats the model's general one.")
    effective_from: date = Field(alias="from", description="The UTC day the price takes effect.")
    input: Dollars = Field(ge=0, le=100_000, description="$ per million uncached input tokens.")
    output: Dollars = Field(ge=0, le=100_000, description="$ per million output tokens.")
    cache_read: Dollars | None = Field(default=None, ge=0, le=100_000,
                                       description="$ per million tokens read from the prompt cache (default: input).")
    cache_write: Dollars | None = Field(default=None, ge=0, le=100_000,
                                        description="$ per million tokens written to the prompt cache (default: input).")

    def rates(self) -> tuple[Dollars, Dollars, Dollars, Dollars]:
        """(uncached input, cache read, cache write, output) in $ per million tokens."""
        read = self.input if self.cache_read is None else self.cache_read
        write = self.input if self.cache_write is None else self.cache_write
        return self.input, read, write, self.output


class PricePeriod(BaseModel):
    """A price in force over `[start, end)` (end None: until further notice), for one model on one provider or on any."""

    model_config = ConfigDict(frozen=True)

    price: Price
    start: date
    end: date | None


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prices: tuple[Price, ...] = ()

    @model_validator(mode="after")
    def _one_price_per_day(self) -> PriceTable:
        seen: set[tuple[str, str | None, date]] = set()
        for p in self.prices:
            key = (p.model, p.provider, p.effective_from)
            if key in seen:
                where = f" on {p.provider}" if p.provider else ""
                raise ValueError(f"two prices for {p.model}{where} from {p.effective_from}: keep one")
            seen.add(key)
        return self

    def periods(self) -> list[PricePeriod]:
        """Every price with the day it stops; a provider's prices first, so that they win over the model's general one."""
        by_key: dict[tuple[str, str | None], list[Price]] = {}
        for p in self.prices:
            by_key.setdefault((p.model, p.provider), []).append(p)
        found: list[PricePeriod] = []
        for _, prices in sorted(by_key.items(), key=lambda kv: (kv[0][1] is None, kv[0][0], kv[0][1] or "")):
            prices.sort(key=lambda p: p.effective_from)
            for i, p in enumerate(prices):
                end = prices[i + 1].effective_from if i + 1 < len(prices) else None
                found.append(PricePeriod(price=p, start=p.effective_from, end=end))
        return found

    def price_of(self, model: str, provider: str, day: date) -> Price | None:
        """The price of one request (for tests and the docs' examples; queries use `periods`)."""
        for period in self.periods():
            p = period.price
            if p.model == model and p.provider in (None, provider) and period.start <= day and (
                    period.end is None or day < period.end):
                return p
        return None


class PriceTableError(Exception):
    """The price file cannot be used; the message says where and why."""


def load_prices(path: Path | None) -> PriceTable:
    """`O11Y_PRICES`: a YAML file with a `prices:` list. None: no prices, every request is reported as unpriced."""
    if path is None:
        return PriceTable()
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise PriceTableError(f"{path}: {err}") from err
    try:
        return PriceTable.model_validate(document or {})
    except ValidationError as err:
        problems = "\n".join(f"  {'.'.join(map(str, e['loc'])) or 'document'}: {e['msg'].removeprefix('Value error, ')}"
                             for e in err.errors())
        raise PriceTableError(f"{path}:\n{problems}") from err
