"""A cluster of engine nodes on NATS JetStream (see docs/cluster.md).

* :mod:`.names`: the buckets, stream and subjects of one cluster, and its timings.
* :mod:`.kv`: connecting, creating the buckets and stream, reading a bucket whole.
* :mod:`.assign`: the assigner's plan (sticky, balanced, within capacity), pure.
* :mod:`.node`: an engine node: liveness, the assigner lease, camera claims (epochs).
* :mod:`.publisher`: the node's events into the JetStream stream (an EventSink).
* :mod:`.consumer`: the order service's durable consumer (exactly once, fenced).
* :mod:`.control`: ``cluster status`` / ``drain`` / camera changes through the KV.

nats-py is an optional dependency (the ``cluster`` extra); nothing here is imported by
the single-process default.
"""
