"""The options every cluster command shares: the NATS URL, the cluster's name, timings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def nats(required: bool = True) -> Callable[[F], F]:
    """``--nats URL`` (comma-separated for several servers) and ``--cluster NAME``."""

    def apply(f: F) -> F:
        f = click.option(
            "--cluster",
            "cluster_name",
            default="gridsight",
            show_default=True,
            envvar="GRIDSIGHT_CLUSTER",
            help="Cluster name: its KV buckets and stream are named after it.",
        )(f)
        return click.option(
            "--nats",
            "nats_url",
            required=required,
            default=None,
            envvar="GRIDSIGHT_NATS_URL",
            help="NATS server URL(s) with JetStream, comma-separated (e.g. nats://127.0.0.1:4222).",
        )(f)

    return apply


def timings(f: F) -> F:
    """``--lease``, ``--renew`` and ``--replicas``: how the cluster notices a dead node."""
    f = click.option(
        "--replicas",
        type=click.Choice(["1", "3", "5"]),
        default="1",
        show_default=True,
        help="Replicas of the stream and buckets (3 on a 3-server NATS cluster).",
    )(f)
    f = click.option(
        "--renew",
        "renew_s",
        type=float,
        default=0.5,
        show_default=True,
        help="Seconds between renewals of the node's liveness key.",
    )(f)
    return click.option(
        "--lease",
        "lease_s",
        type=float,
        default=4.0,
        show_default=True,
        help="Seconds without a renewal after which a node counts as dead.",
    )(f)
