"""Byte sizes on the command line: `50GiB`, `1.5TB` or plain bytes."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import click

MAX_BYTES = 2**63 - 1
UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50,
}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*")


def parse_size(text: str) -> int:
    """Return the number of bytes in `text`; raise ValueError with the accepted forms."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else None
    if not match or unit not in UNITS:
        raise ValueError(f"invalid size {text!r}: expected bytes or a number with a unit such as 50GiB, 1.5TB, 500MB")
    try:
        size = int(Decimal(match.group(1)) * UNITS[unit])
    except InvalidOperation:
        raise ValueError(f"invalid size {text!r}") from None
    if size > MAX_BYTES:
        raise ValueError(f"size {text!r} is larger than the maximum of {MAX_BYTES} bytes")
    return size


def format_size(size: int | None) -> str:
    if size is None:
        return "-"
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(size) >= factor:
            return f"{size / factor:.2f} {unit}"
    return f"{size} B"


class SizeType(click.ParamType):
    name = "SIZE"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


SIZE = SizeType()
