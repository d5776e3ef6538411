"""A complete panel response and its JSON decoding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from worker.errors import PanelResponseError


@dataclass(frozen=True)
class HttpResult:
    """A complete response: status, content type and the whole body."""

    method: str
    path: str
    status_code: int
    content_type: str
    body: bytes
    panel_id: int | None
    secret: bool = False  # the body may contain a token, so never quote it

    def json(self) -> Any:
        """Decode the body as JSON, or raise PanelResponseError for HTML or invalid JSON."""
        where = f"{self.method} {self.path} (HTTP {self.status_code})"
        if "html" in self.content_type.lower() or self.body.lstrip()[:1] == b"<":
            raise PanelResponseError(
                f"{where} returned an HTML page where JSON was expected; "
                "check that base_url points at the panel (including any web base path)",
                panel_id=self.panel_id,
            )
        try:
            return json.loads(self.body)
        except ValueError as exc:
            excerpt = "" if self.secret else f"; body starts with {self.body[:80]!r}"
            raise PanelResponseError(
                f"{where} returned invalid JSON ({exc}){excerpt}", panel_id=self.panel_id
            ) from exc
