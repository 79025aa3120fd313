"""Malformed notifier URLs, the notify: config section and building channels from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridsight.core.config import load_township, parse_yaml_model
from gridsight.core.config.township import Township
from gridsight.core.errors import ConfigError
from gridsight.core.plugins import build_plugin_manager
from gridsight.orders.notify.base import notifier_for_url, redact_url
from gridsight.orders.notify.channels import build_channels, parse_notify_urls
from gridsight.orders.notify.mqtt import MqttNotifier
from gridsight.orders.notify.webhook import WebhookNotifier

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "jingqiao.yaml"
ENV = {"GRIDSIGHT_WEBHOOK_SECRET": "s3cret"}


@pytest.fixture(scope="module")
def pm():
    return build_plugin_manager()


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("http//example.org/hook", "has no scheme"),
        ("example.org/hook", "has no scheme"),
        ("https://", "has no host"),
        ("http://:8080/hook", "has no host"),
        ("http://example.org:99999/hook", "invalid port"),
        ("http://example.org:0/hook", "has port 0"),
        ("mqtt://broker:notaport", "invalid port"),
        ("mqtt://", "has no host"),
        ("https://ops.example/ho ok", "contains whitespace"),
        ("1http://x", "invalid scheme"),
    ],
)
def test_malformed_urls_are_config_errors_naming_the_url(pm, url, what):
    with pytest.raises(ConfigError) as info:
        notifier_for_url(url, pm, "s")
    assert what in str(info.value)
    assert repr(redact_url(url)) in str(info.value)
    with pytest.raises(ConfigError, match="--notify"):
        parse_notify_urls([url])


def test_urls_choose_their_notifier(pm):
    assert isinstance(notifier_for_url("https://ops.example/hook", pm, "s"), WebhookNotifier)
    assert isinstance(notifier_for_url("HTTP://ops.example/hook", pm, "s"), WebhookNotifier)
    m = notifier_for_url("mqtt://127.0.0.1:1/town-a", pm)
    try:
        assert isinstance(m, MqttNotifier) and m.prefix == "town-a" and m.port == 1
    finally:
        m.close()
    m = notifier_for_url("mqtt://127.0.0.1", pm)
    try:
        assert m.prefix == "gridsight" and m.port == 1883
    finally:
        m.close()
    assert notifier_for_url("ntfy://topic", pm).name == "apprise"


def test_redaction_hides_passwords_and_tokens():
    assert redact_url("mqtt://u:hunter2@b:1883/p") == "mqtt://u:***@b:1883/p"
    assert "abcdef0123456789" not in redact_url("wecombot://abcdef0123456789")
    assert redact_url("https://h/x?access_token=zzz&a=1") == "https://h/x?access_token=***&a=1"


def _town(extra: str) -> Township:
    return parse_yaml_model(CONFIG.read_text(encoding="utf-8") + extra, Township, source="t.yaml")


def test_config_url_errors_name_file_line_and_field():
    with pytest.raises(ConfigError) as info:
        _town("notify:\n  channels:\n    - url: http//x\n    - url: mqtt://:1883/p\n")
    msg = str(info.value)
    assert "t.yaml:" in msg
    assert "notify.channels[0].url: " in msg and "has no scheme" in msg
    assert "notify.channels[1].url: " in msg and "has no host" in msg


def test_config_misspelt_key_and_bad_rate_limit():
    with pytest.raises(ConfigError, match="did you mean 'villages'"):
        _town("notify:\n  channels:\n    - url: https://h/x\n      vilages: [ruijia]\n")
    with pytest.raises(ConfigError, match="burst \\(30\\) cannot exceed messages \\(20\\)"):
        _town(
            "notify:\n  channels:\n    - url: ntfy://t\n"
            "      rate_limit: {messages: 20, burst: 30}\n"
        )
    with pytest.raises(ConfigError, match="channel name 'a' is used more than once"):
        _town(
            "notify:\n  channels:\n    - {name: a, url: 'ntfy://t'}\n    - {name: a, url: 'ntfy://u'}\n"
        )


def test_channels_from_config_and_cli_are_named_and_filtered(pm):
    town = _town(
        "notify:\n"
        "  channels:\n"
        "    - url: https://ops.example/hook\n"
        "    - name: ruijia-bot\n"
        "      url: wecombot://0123456789abcdef\n"
        "      villages: [ruijia]\n"
        "      hazards: [near_water]\n"
        "    - url: ntfy://gridsight\n"
        "      types: [escalation, sla_breach]\n"
        "      rate_limit: {messages: 5, per_s: 60, burst: 2}\n"
    )
    chans = build_channels(pm, town, ["https://other.example/h", "ntfy://x"], env=ENV)
    try:
        assert [c.name for c in chans] == [
            "webhook-1",
            "ruijia-bot",
            "apprise-1",
            "webhook-2",
            "apprise-2",
        ]
        hook, bot, ntfy = chans[0], chans[1], chans[2]
        assert isinstance(hook.notifier, WebhookNotifier) and hook.notifier.signed
        # WeCom's ~20/min default; the ntfy channel's own limit
        assert bot.rate_limit is not None and bot.rate_limit.messages == 20
        assert ntfy.rate_limit is not None and ntfy.rate_limit.capacity == 2
        assert hook.rate_limit is None
        water = {
            "type": "new",
            "order": {"id": "w", "kind": "near_water"},
            "village": "ruijia",
            "hazard": "near_water",
        }
        lane = {**water, "hazard": "fire_lane"}
        tai = {**water, "village": "tai"}
        assert bot.accepts(water) and not bot.accepts(lane) and not bot.accepts(tai)
        assert hook.accepts(lane) and hook.accepts(tai)
        assert not ntfy.accepts(water) and ntfy.accepts({**water, "type": "sla_breach"})
        assert bot.accepts({"type": "new", "event": {"village": "ruijia", "hazard": "near_water"}})
        assert not bot.accepts({"type": "new", "event": {"village": "tai", "hazard": "near_water"}})
    finally:
        for c in chans:
            c.close()


def test_unknown_village_or_hazard_in_a_filter_names_the_line(pm, tmp_path):
    path = tmp_path / "town.yaml"
    path.write_text(
        CONFIG.read_text(encoding="utf-8")
        + "notify:\n  channels:\n    - url: ntfy://t\n      villages: [ruijai]\n",
        encoding="utf-8",
    )
    town = load_township(path)
    with pytest.raises(ConfigError) as info:
        build_channels(pm, town, env=ENV)
    msg = str(info.value)
    assert f"{path}:" in msg and "notify.channels[0].villages[0]" in msg
    assert "village 'ruijai', which is not defined" in msg and "ruijia" in msg
    path.write_text(
        CONFIG.read_text(encoding="utf-8")
        + "notify:\n  channels:\n    - url: ntfy://t\n      hazards: [near_watter]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="hazard 'near_watter', which no plugin provides"):
        build_channels(pm, load_township(path), env=ENV)


def test_missing_secret_env_is_an_error(pm):
    town = _town("notify:\n  channels:\n    - url: https://h/x\n      secret_env: MY_HOOK_SECRET\n")
    with pytest.raises(ConfigError, match="secret_env MY_HOOK_SECRET is not set"):
        build_channels(pm, town, env={})
    (ch,) = build_channels(pm, town, env={"MY_HOOK_SECRET": "x"})
    assert ch.notifier.signed


def test_apprise_rejecting_a_config_url_names_the_line(pm, tmp_path):
    path = tmp_path / "town.yaml"
    path.write_text(
        CONFIG.read_text(encoding="utf-8") + "notify:\n  channels:\n    - url: bogus://x\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        build_channels(pm, load_township(path), env=ENV)
    assert f"{path}:" in str(info.value) and "notify.channels[0].url" in str(info.value)
    assert "Apprise does not accept it" in str(info.value)
