"""Prometheus metrics for one server. A registry per app, so tests can build many apps."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


@dataclass
class Metrics:
    """Counters the webhook service, the outbox and the MCP door update."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.webhooks_received = Counter("agent_os_webhooks_received", "Webhook deliveries accepted.",
                                         ["event"], registry=r)
        self.webhooks_rejected = Counter("agent_os_webhooks_rejected", "Webhook requests refused.",
                                         ["reason"], registry=r)
        self.webhooks_processed = Counter("agent_os_webhooks_processed", "Deliveries processed successfully.",
                                          ["event"], registry=r)
        self.webhooks_failed = Counter("agent_os_webhooks_failed", "Delivery processing attempts that failed.",
                                       ["event"], registry=r)
        self.outbox_sent = Counter("agent_os_outbox_writes", "Writes to GitHub by outcome.",
                                   ["kind", "result"], registry=r)
        # Counted in the database, so every replica reports the same figure (aggregate with
        # max, not sum); the counters above are this process's own and add up across replicas.
        self.outbox_depth = Gauge("agent_os_outbox_depth", "Writes to GitHub waiting to be sent (all replicas).",
                                  registry=r)
        self.tool_calls = Counter("agent_os_mcp_tool_calls", "MCP tool calls by tool and outcome.",
                                  ["tool", "result"], registry=r)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
