"""Logger and metrics, set up once per container the way Powertools documents (names from the environment)."""

from __future__ import annotations

import re

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "mask_address", "mask_text", "metrics"]


def mask_address(address: str | None) -> str | None:
    """Keep enough of an address to find a message, not enough to read it back: j***@example.com."""
    if not address or "@" not in address:
        return address
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


_ADDRESS_IN_TEXT = re.compile(r"[^\s<>\"'(),;:@\[\]]+@[^\s<>\"'(),;:\[\]]+")


def mask_address_list(addresses) -> list:
    return [mask_address(address) for address in addresses]


def mask_text(text: str) -> str:
    """Free text (an error, a reason) with every address in it masked, so it can go into a log line."""
    return _ADDRESS_IN_TEXT.sub(lambda match: mask_address(match.group(0)) or "", text)
