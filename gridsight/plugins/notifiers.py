"""Built-in notifiers plugin: the signed JSON webhook, MQTT and Apprise.

Registered through the ``gridsight`` entry-point group like any third-party plugin. The
notifier modules are imported when the registry is first asked for, so loading the
plugins stays fast and paho-mqtt / Apprise are imported only when used.
"""

from __future__ import annotations

from gridsight.core.hookspecs import hookimpl


@hookimpl
def gridsight_register_notifiers() -> list[type]:
    """The built-in notifiers: ``webhook`` (http, https), ``mqtt`` (mqtt, mqtts) and
    ``apprise`` (every other scheme)."""
    from gridsight.orders.notify.apprise_notifier import AppriseNotifier
    from gridsight.orders.notify.mqtt import MqttNotifier
    from gridsight.orders.notify.webhook import WebhookNotifier

    return [WebhookNotifier, MqttNotifier, AppriseNotifier]
