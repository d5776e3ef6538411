"""Parsing of 3x-ui responses and building of its client update bodies.

The field names and shapes here were read from MHSanaei/3x-ui (see the
module docstring of panels.xui for the versions).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from panels.base import UserUsage
from panels.counters import read_counter, read_flag, read_optional_counter, validate_counter
from panels.json_shapes import preview, require_list, require_object
from worker.errors import PanelResponseError


def unwrap_envelope(body: Any, context: str, panel_id: int | None) -> Any:
    """Return `obj` of a 3x-ui {"success", "msg", "obj"} response, or raise PanelResponseError.

    3x-ui reports most failures as HTTP 200 with success false.
    """
    envelope = require_object(body, context, panel_id)
    if envelope.get("success") is not True:
        raise PanelResponseError(
            f"{context}: the panel reported a failure: {preview(envelope.get('msg'))}",
            panel_id=panel_id,
        )
    return envelope.get("obj")


def is_not_found_failure(body: Any) -> bool:
    """Return whether a failed 3x-ui response states that the record does not exist."""
    if not isinstance(body, dict) or body.get("success") is not False:
        return False
    return "not found" in str(body.get("msg", "")).lower()


def inbound_clients(inbound: Mapping[str, Any], panel_id: int | None) -> list[dict[str, Any]]:
    """Return the client objects of an inbound's `settings`.

    `settings` is a JSON text up to 3x-ui 3.0 and a nested object from 3.1 on.
    """
    settings = inbound.get("settings")
    if isinstance(settings, str):
        try:
            settings = json.loads(settings) if settings.strip() else {}
        except ValueError as exc:
            raise PanelResponseError(
                f"inbound {inbound.get('id')!r} has invalid JSON in 'settings': {exc}",
                panel_id=panel_id,
            ) from exc
    if settings is None:
        return []
    settings = require_object(settings, f"inbound {inbound.get('id')!r} settings", panel_id)
    clients = settings.get("clients") or []
    context = f"inbound {inbound.get('id')!r} settings.clients"
    return [require_object(client, context, panel_id) for client in require_list(clients, context, panel_id)]


@dataclass
class InboundClient:
    """One client of a 3x-ui v2 inbound, with its traffic row when it has one."""

    inbound: dict[str, Any]
    client: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None


def index_inbound_clients(
    inbounds: Any, emails: Iterable[str] | None, panel_id: int | None
) -> dict[str, InboundClient]:
    """Map each client email to its inbound, settings entry and clientStats row.

    With `emails` given, only those are indexed; None indexes every client.
    """
    requested = None if emails is None else set(emails)
    index: dict[str, InboundClient] = {}
    for raw in require_list(inbounds, "inbound list", panel_id):
        inbound = require_object(raw, "inbound list item", panel_id)
        for stat in require_list(inbound.get("clientStats") or [], "clientStats", panel_id):
            stat = require_object(stat, "clientStats item", panel_id)
            email = stat.get("email")
            if isinstance(email, str) and (requested is None or email in requested):
                index.setdefault(email, InboundClient(inbound)).stats = stat
        for client in inbound_clients(inbound, panel_id):
            email = client.get("email")
            if isinstance(email, str) and (requested is None or email in requested):
                entry = index.setdefault(email, InboundClient(inbound))
                entry.inbound, entry.client = inbound, client
    return index


def _used_bytes(traffic: Mapping[str, Any], email: str, panel_id: int | None) -> int:
    up = read_counter(traffic, "up", email, panel_id)
    down = read_counter(traffic, "down", email, panel_id)
    return validate_counter(up + down, "up+down", email, panel_id)


def usage_from_inbound_client(email: str, entry: InboundClient, panel_id: int | None) -> UserUsage:
    """Build a v2 client's usage: up + down, allTime when sent, both enable flags."""
    if entry.stats is None:
        raise PanelResponseError(
            f"client {email!r} has no clientStats row, so its counters 'up' and 'down' are missing",
            panel_id=panel_id,
        )
    enabled = read_flag(entry.stats, "enable", email, panel_id)
    # From 2.6.7 on, a client disabled in its settings keeps enable=true in
    # clientStats, so both flags must allow the client.
    if entry.client is not None and "enable" in entry.client:
        enabled = enabled and read_flag(entry.client, "enable", email, panel_id)
    return UserUsage(
        username=email,
        used_bytes=_used_bytes(entry.stats, email, panel_id),
        lifetime_bytes=read_optional_counter(entry.stats, "allTime", email, panel_id),
        enabled=enabled,
    )


def usage_from_page_item(email: str, item: Mapping[str, Any], panel_id: int | None) -> UserUsage:
    """Build a v3 client's usage from a clients/list/paged item; v3 has no lifetime counter."""
    traffic = item.get("traffic")
    if traffic is None:
        raise PanelResponseError(
            f"client {email!r} has no 'traffic' object, so its counters 'up' and 'down' are missing",
            panel_id=panel_id,
        )
    traffic = require_object(traffic, f"traffic of client {email!r}", panel_id)
    enabled = read_flag(item, "enable", email, panel_id) and read_flag(traffic, "enable", email, panel_id)
    return UserUsage(
        username=email,
        used_bytes=_used_bytes(traffic, email, panel_id),
        lifetime_bytes=None,
        enabled=enabled,
    )


def client_key(protocol: Any, client: Mapping[str, Any]) -> str:
    """Return the key that /panel/api/inbounds/updateClient/{key} expects for this protocol."""
    if protocol == "trojan":
        key = client.get("password")
    elif protocol == "shadowsocks":
        key = client.get("email")
    elif protocol in ("hysteria", "hysteria2"):
        key = client.get("auth")
    else:
        key = client.get("id")
    return key if isinstance(key, str) else ""


def client_payload_from_record(record: Mapping[str, Any], enable: bool) -> dict[str, Any]:
    """Turn a clients/get record into the model.Client body of clients/update.

    The record and the update body name three fields differently (uuid is
    the body's id, createdAt is created_at, and allowedIPs is a comma list
    in the record but an array in the body). Every other field is copied, so
    the update changes nothing but `enable`.
    """
    renamed = {"id", "uuid", "createdAt", "updatedAt"}
    payload = {key: value for key, value in record.items() if key not in renamed}
    if record.get("uuid"):
        payload["id"] = record["uuid"]
    if "createdAt" in record:
        payload["created_at"] = record["createdAt"]
    allowed = payload.get("allowedIPs")
    if isinstance(allowed, str):
        parts = [part.strip() for part in allowed.split(",") if part.strip()]
        if parts:
            payload["allowedIPs"] = parts
        else:
            payload.pop("allowedIPs")
    reverse = payload.get("reverse")
    if isinstance(reverse, str) and reverse.strip():
        try:
            payload["reverse"] = json.loads(reverse)
        except ValueError:
            payload.pop("reverse")
    elif not isinstance(reverse, dict):
        payload.pop("reverse", None)
    payload["enable"] = enable
    return payload
