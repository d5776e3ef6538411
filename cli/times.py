"""ISO 8601 times on the command line, stored as naive UTC."""

from __future__ import annotations

from datetime import datetime, timezone

import click


class IsoTimeType(click.ParamType):
    name = "ISO8601"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"invalid time {value!r}: expected ISO 8601 such as 2026-12-31T23:59:00Z", param, ctx)
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        return moment


ISO_TIME = IsoTimeType()
