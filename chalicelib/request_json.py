"""Parses a request's JSON body once, with limits, so no body can cost a 500: depth, Unicode, numbers, keys.

Python's json accepts things deskmail cannot use and that fail later, far from the request: nesting deep enough
to raise RecursionError (in the parser, in DynamoDB marshalling, in the response), lone surrogates ("\\ud800",
which cannot be encoded as UTF-8 for storage or email), NaN and Infinity, integers of thousands of digits
(ValueError past 4,300), and duplicate keys (the last silently wins). Each is a 400 with a message saying which.
Only json and the error types are imported: every Lambda function imports app.py, and this stays cheap.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.i18n import N_

# deskmail's bodies are at most three levels deep (a ticket, its comment, a list of ids); 32 leaves room.
MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 20
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    found: dict = {}
    for key, value in pairs:
        if key in found:
            raise InvalidInput(N_("The request body names '{field}' twice."), field=key)
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise InvalidInput(N_("The request body holds {value}, which is not a JSON number."), value=name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidInput(N_("The request body holds a number too large to use: {value}."), value=text[:40])
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise InvalidInput(N_("The request body holds a number too large to use: {value}."), value=text[:40] + "…")
    return int(text)


def _safe(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _check_shape(value: Any) -> None:
    """Depth and Unicode, walked without recursion (the value may be as deep as the parser allowed)."""
    pending: list[tuple[Any, int, str]] = [(value, 1, "")]
    while pending:
        item, depth, path = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidInput(
                    N_("'{field}' holds invalid Unicode (a lone surrogate such as \\ud800)."), field=path or "body"
                )
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise InvalidInput(N_("The request body is nested deeper than {max_depth} levels."), max_depth=MAX_DEPTH)
        if isinstance(item, dict):
            for key, child in item.items():
                field = f"{path}.{_safe(key)}" if path else _safe(key)
                pending.append((key, depth + 1, field))
                pending.append((child, depth + 1, field))
        else:
            pending.extend((child, depth + 1, f"{path}[{index}]") for index, child in enumerate(item))


def parse(raw: bytes | str | None) -> Any:
    """The body's JSON value (None when there is no body), or InvalidInput saying what is wrong with it."""
    if raw is None or len(raw) == 0:
        return None
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InvalidInput(N_("The request body is not valid UTF-8.")) from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except RecursionError:
        # The C parser stops cleanly at the interpreter's recursion limit: a body this deep is refused outright.
        raise InvalidInput(
            N_("The request body is nested deeper than {max_depth} levels."), max_depth=MAX_DEPTH
        ) from None
    except json.JSONDecodeError as error:
        raise InvalidInput(
            N_("The request body is not valid JSON: {error} (line {line}, column {column})."),
            error=error.msg,
            line=error.lineno,
            column=error.colno,
        ) from None
    except ValueError as error:  # int() past the interpreter's digit limit, and the like
        raise InvalidInput(N_("The request body is not valid JSON: {error}."), error=str(error)[:100]) from None
    _check_shape(value)
    return value
