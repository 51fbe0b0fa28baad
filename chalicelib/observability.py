"""Logger and metrics, set up once per container the way Powertools documents (names from the environment)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "mask_address", "metrics"]


def mask_address(address: str | None) -> str | None:
    """Keep enough of an address to find a message, not enough to read it back: j***@example.com."""
    if not address or "@" not in address:
        return address
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"
