"""The MQTT notifier (``mqtt://`` and ``mqtts://`` URLs), on paho-mqtt 2.x.

URL: ``mqtt[s]://[user:password@]host[:port][/prefix]`` (port 1883, or 8883 for
``mqtts``; prefix ``gridsight``). Topics, in the style of Frigate's::

    <prefix>/available                 "online" / "offline" (retained; the will message)
    <prefix>/events                    hazard events: {"type": new|update|end, "event": {...}}
    <prefix>/work_orders/<order id>    {"type": new|update|end, "before": state|None,
                                        "after": state, "notification": <type>, "order": ...}
    <prefix>/cameras/<camera>/status   the camera's last status (retained)

A work-order notification's ``type`` on MQTT is ``new`` for a new order, ``end`` when the
order reached a final state (closed, cancelled, rejected, duplicate) and ``update``
otherwise; the service's own type (``escalation``, ``sla_breach``, ...) is kept in
``notification``. Everything is published with QoS 1 and :meth:`MqttNotifier.send`
returns only once the broker acknowledged it (PUBACK), so a relay marks a row delivered
only when the broker has it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from gridsight.core.errors import ConfigError
from gridsight.orders.notify.base import DeliveryError, Notifier, check_url, redact_url

DEFAULT_PREFIX = "gridsight"
FINAL_STATES = frozenset({"closed", "cancelled", "rejected", "duplicate"})
_TOPIC_BAD = set("+#\x00")


def _topic_part(value: object, what: str) -> str:
    text = str(value)
    if not text or _TOPIC_BAD & set(text) or "/" in text:
        raise DeliveryError(
            f"cannot publish: {what} {text!r} is not usable in a topic", permanent=True
        )
    return text


def mqtt_type(payload: dict[str, Any]) -> str:
    """``new``, ``update`` or ``end`` for a work-order notification (see the module docstring)."""
    kind = payload.get("type")
    if kind == "new":
        return "new"
    if kind == "end" or payload.get("after") in FINAL_STATES:
        return "end"
    return "update"


def topics_for(prefix: str, payload: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """``[(topic, message, retain)]`` a notification is published as.

    Raises:
        DeliveryError: (permanent) the payload has none of the known shapes.
    """
    kind = payload.get("type")
    if kind == "digest":
        out: list[tuple[str, dict[str, Any], bool]] = []
        for item in payload.get("items", []):
            out.extend(topics_for(prefix, item.get("payload", item)))
        return out
    if kind == "camera_status":
        camera = _topic_part(payload.get("camera"), "camera id")
        return [(f"{prefix}/cameras/{camera}/status", payload.get("status", {}), True)]
    if isinstance(payload.get("order"), dict):
        order_id = _topic_part(payload["order"].get("id"), "order id")
        message = {**payload, "type": mqtt_type(payload), "notification": kind}
        return [(f"{prefix}/work_orders/{order_id}", message, False)]
    if isinstance(payload.get("event"), dict):
        return [(f"{prefix}/events", payload, False)]
    raise DeliveryError(
        f"cannot publish a notification of type {kind!r} with neither 'order' nor 'event' "
        "nor a camera status",
        permanent=True,
    )


class MqttNotifier(Notifier):
    """Publishes notifications to an MQTT broker (see the module docstring).

    The client connects in the background when built and reconnects by itself; a send
    while the broker is unreachable fails after ``timeout_s`` (and the relay retries).
    """

    name: ClassVar[str] = "mqtt"
    schemes: ClassVar[tuple[str, ...]] = ("mqtt", "mqtts")
    camera_status: ClassVar[bool] = True  # retained <prefix>/cameras/<id>/status
    hazard_events: ClassVar[bool] = True  # <prefix>/events

    def __init__(self, url: str, *, timeout_s: float = 5.0, client_id: str | None = None) -> None:
        check_url(url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in self.schemes:
            raise ConfigError(f"MQTT URL {redact_url(url)!r} is not mqtt:// or mqtts://")
        prefix = parts.path.strip("/") or DEFAULT_PREFIX
        if _TOPIC_BAD & set(prefix) or "//" in prefix:
            raise ConfigError(
                f"MQTT URL {redact_url(url)!r}: topic prefix {prefix!r} may not contain "
                "'+', '#' or empty levels"
            )
        self.url = url
        self.timeout_s = timeout_s
        self.prefix = prefix
        self.host = parts.hostname or ""
        self.port = parts.port or (8883 if scheme == "mqtts" else 1883)

        import paho.mqtt.client as mqtt

        self._mqtt = mqtt
        self._client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"gridsight-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv311,
        )
        if parts.username is not None:
            self._client.username_pw_set(
                unquote(parts.username), unquote(parts.password) if parts.password else None
            )
        if scheme == "mqtts":
            self._client.tls_set()
        self._client.will_set(f"{prefix}/available", "offline", qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._connected = threading.Event()
        self._last_error: str | None = None
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._closed = False
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()

    @classmethod
    def from_url(cls, url: str, *, secret: str | None, timeout_s: float = 5.0) -> MqttNotifier:
        return cls(url, timeout_s=timeout_s)

    def _on_connect(
        self, client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self._last_error = f"broker refused the connection: {reason}"
            return
        self._last_error = None
        client.publish(f"{self.prefix}/available", "online", qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._connected.clear()
        if not self._closed:
            self._last_error = f"disconnected: {reason}"

    def wait_connected(self, timeout_s: float | None = None) -> bool:
        """Wait until the client is connected; False after ``timeout_s``."""
        return self._connected.wait(self.timeout_s if timeout_s is None else timeout_s)

    def send(self, payload: dict[str, Any], *, key: str) -> None:
        where = f"MQTT {redact_url(self.url)}"
        if not self.wait_connected():
            why = self._last_error or f"no connection within {self.timeout_s:g} s"
            raise DeliveryError(f"{where}: {why}")
        for topic, message, retain in topics_for(self.prefix, payload):
            body = json.dumps(
                {**message, "idempotency_key": key} if not retain else message,
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            )
            info = self._client.publish(topic, body, qos=1, retain=retain)
            if info.rc != self._mqtt.MQTT_ERR_SUCCESS:
                raise DeliveryError(f"{where}: publish to {topic} failed: rc {info.rc}")
            try:
                info.wait_for_publish(timeout=self.timeout_s)
            except (RuntimeError, ValueError) as exc:
                raise DeliveryError(f"{where}: publish to {topic} failed: {exc}") from exc
            if not info.is_published():
                raise DeliveryError(
                    f"{where}: the broker did not acknowledge {topic} within {self.timeout_s:g} s"
                )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._connected.is_set():
            info = self._client.publish(f"{self.prefix}/available", "offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=min(self.timeout_s, 2.0))
        self._client.disconnect()
        self._client.loop_stop()
