"""Request, response and routing types of the simulated panels' web apps."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, unquote


@dataclass
class Request:
    """One parsed HTTP request; `path` is relative to the panel's base path."""

    method: str
    path: str
    target: str  # the request line's target, for redirects
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict[str, str]:
        """Return a urlencoded or JSON body as a flat dict of strings or values."""
        content_type = self.headers.get("Content-Type", "")
        if "json" in content_type:
            decoded = self.json()
            return decoded if isinstance(decoded, dict) else {}
        fields = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in fields.items()}

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def cookie(self, name: str) -> str | None:
        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except Exception:  # a malformed Cookie header means no cookie
            return None
        morsel = jar.get(name)
        return morsel.value if morsel else None

    def bearer_token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[7:] if header.startswith("Bearer ") else None


@dataclass
class Response:
    """A complete response; the server adds Content-Length."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, "application/json; charset=utf-8", headers or [])


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Maps method and path to a handler; `{name}` matches one path segment."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self._routes.append(Route(method, template, re.compile(f"^{regex}$"), handler))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, {key: unquote(value) for key, value in found.groupdict().items()}
        return None
