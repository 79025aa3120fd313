"""Acknowledge tokens: round trip, forgery, expiry, wrong order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridsight.orders.notify.ack import (
    AckClaim,
    AckTokenError,
    ack_link,
    ack_secret_from_env,
    ack_token,
    verify_ack_token,
)

ids = st.text(st.characters(blacklist_characters="\x1f", blacklist_categories=["Cs"]), min_size=1)


@given(order=ids, worker=ids, secret=st.text(min_size=1))
def test_round_trip(order, worker, secret):
    token = ack_token(order, worker, secret)
    assert verify_ack_token(token, secret) == AckClaim(order, worker, None)
    assert verify_ack_token(token, secret, order_id=order).worker == worker


def test_forged_tampered_wrong_order_expired():
    token = ack_token("wo-1", "w-12", "s3cret", expires_at=1000.0)
    with pytest.raises(AckTokenError, match="signature"):
        verify_ack_token(token, "other-secret")
    forged = ack_token("wo-1", "w-99", "guess")
    with pytest.raises(AckTokenError, match="signature"):
        verify_ack_token(forged, "s3cret")
    head, sig = token.split(".")
    with pytest.raises(AckTokenError):
        verify_ack_token(head[:-2] + "AA." + sig, "s3cret")
    with pytest.raises(AckTokenError, match="malformed"):
        verify_ack_token("not-a-token", "s3cret")
    with pytest.raises(AckTokenError, match="for order wo-1, not wo-2"):
        verify_ack_token(token, "s3cret", order_id="wo-2")
    assert verify_ack_token(token, "s3cret", now=999.0).expires_at == 1000.0
    with pytest.raises(AckTokenError, match="expired"):
        verify_ack_token(token, "s3cret", now=1001.0)


def test_link_and_secret(monkeypatch):
    tok = ack_token("wo-1", "w-1", "k")
    assert ack_link("http://c/ack", tok) == f"http://c/ack?token={tok}"
    assert ack_link("http://c/ack?lang=zh", tok).startswith("http://c/ack?lang=zh&token=")
    monkeypatch.delenv("GRIDSIGHT_ACK_SECRET", raising=False)
    monkeypatch.setenv("GRIDSIGHT_WEBHOOK_SECRET", "w")
    assert ack_secret_from_env() == "w"
    monkeypatch.setenv("GRIDSIGHT_ACK_SECRET", "a")
    assert ack_secret_from_env() == "a"
    with pytest.raises(ValueError):
        ack_token("wo-1", "w-1", "")
