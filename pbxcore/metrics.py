"""
Metrics of a PBX in Prometheus' model (C{prometheus_client}), read at
scrape time.

The hot paths only count: an integer in a dict or an attribute. Everything
here turns those counts into metric families when C{/metrics} is read
(L{plugins.res_prometheus} serves it). Each PBX has a registry of its own
(L{makeRegistry}), never C{prometheus_client}'s global one, so two PBXs in
one process (the tests) never mix.

A module publishes its own metrics through its registrar::

    from pbxcore.api import MetricCounter
    greetings = MetricCounter("txpbx_greetings", "Greetings played", ("language",))
    registrar.register("metric", greetings)
    greetings.inc("en")

L{MetricGauge} reads a value (or one per label set) from a callable at scrape
time; L{MetricCollector} wraps any callable returning families.
"""

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
)
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.frame import causeText
from pbxcore.interfaces import IMetric

log = Logger()


def _labelled(family, labelnames, values):
    """Add C{values} ({labels tuple or value: number}) to C{family}."""
    for labels, value in values.items():
        if not isinstance(labels, tuple):
            labels = (labels,)
        family.add_metric([str(v) for v in labels[:len(labelnames)]], value)
    return family


@implementer(IMetric)
class MetricCounter:
    """
    A counter a module increments (C{inc}); only a dict update per call.
    With C{labelnames}, C{inc} takes one value per label.
    """

    def __init__(self, name, documentation, labelnames=()):
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._values = {} if self.labelnames else {(): 0}

    def inc(self, *labels, amount=1):
        """Add C{amount} (default 1) for the label values C{labels}."""
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {labels!r}")
        values = self._values
        values[labels] = values.get(labels, 0) + amount

    def value(self, *labels):
        return self._values.get(labels, 0)

    def collect(self):
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, value in self._values.items():
            family.add_metric(list(labels), value)
        yield family


@implementer(IMetric)
class MetricGauge:
    """
    A gauge whose value C{read()} returns at scrape time: a number, or with
    C{labelnames} a dict from label values (a tuple, or one value) to numbers.
    """

    def __init__(self, name, documentation, read, labelnames=()):
        self.name = name
        self.documentation = documentation
        self.read = read
        self.labelnames = tuple(labelnames)

    def collect(self):
        value = self.read()
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        if self.labelnames:
            _labelled(family, self.labelnames, value)
        else:
            family.add_metric([], value)
        yield family


@implementer(IMetric)
class MetricCollector:
    """Any callable returning metric families, named for the registry."""

    def __init__(self, name, collect):
        self.name = name
        self._collect = collect

    def collect(self):
        return self._collect()


def counter(name, documentation, values, labelnames=()):
    """A counter family from C{values} (a number, or {labels: number})."""
    family = CounterMetricFamily(name, documentation, labels=labelnames)
    if labelnames:
        return _labelled(family, labelnames, values)
    family.add_metric([], values)
    return family


def gauge(name, documentation, values, labelnames=()):
    """A gauge family from C{values} (a number, or {labels: number})."""
    family = GaugeMetricFamily(name, documentation, labels=labelnames)
    if labelnames:
        return _labelled(family, labelnames, values)
    family.add_metric([], values)
    return family


def coreMetrics(pbx):
    """The core's families: uptime, channels, calls, hangup causes."""
    now = pbx.reactor.seconds() if pbx.reactor is not None else 0.0
    info = InfoMetricFamily("asterisk_core_properties", "The PBX's version and system name")
    info.add_metric([], {"version": str(getattr(pbx, "version", "")),
                         "system_name": str(pbx.settings.get("systemname") or "")})
    yield info
    started = getattr(pbx, "startTime", None)
    if started is not None:
        yield gauge("asterisk_core_uptime_seconds", "Seconds since the PBX started",
                    now - started)
        yield gauge("asterisk_core_last_reload_seconds", "Seconds since the last reload",
                    now - (getattr(pbx, "reloadTime", None) or started))
    channels = getattr(pbx, "channels", None)
    if channels is None:
        return
    live = list(channels)
    yield gauge("asterisk_channels_count", "Live channels", len(live))
    yield counter("asterisk_channels", "Channels created", channels.created)
    yield gauge("asterisk_calls_count", "Active calls (channels grouped by linkedid)",
                len({c.linkedid for c in live}))
    yield counter("asterisk_calls", "Calls started", channels.calls)
    causes = {(str(cause), causeText(cause)): n for cause, n in channels.hangupCauses.items()}
    yield counter("asterisk_channels_hangup", "Channels hung up, by Q.850 cause", causes,
                  ("cause", "cause_txt"))


def rtpMetrics(engine):
    """Packets sent, received and lost (closed and live sessions), jitter now."""
    live = list(engine.sessions)
    totals = dict(engine.retired)
    jitters = []
    for session in live:
        incoming = session.incoming
        totals["txPackets"] += session.outgoing.packets
        totals["rxPackets"] += incoming.received
        totals["rxLost"] += max(0, incoming.lost)
        if incoming.received:
            jitters.append(incoming.jitterMs / 1000.0)
    yield gauge("asterisk_rtp_sessions_count", "Open RTP sessions", len(live))
    yield counter("asterisk_rtp_packets", "RTP packets, by direction",
                  {"sent": totals["txPackets"], "received": totals["rxPackets"]}, ("direction",))
    yield counter("asterisk_rtp_packets_lost", "RTP packets lost on the way in", totals["rxLost"])
    yield gauge("asterisk_rtp_jitter_seconds", "Interarrival jitter of the live streams",
                {"max": max(jitters, default=0.0),
                 "mean": sum(jitters) / len(jitters) if jitters else 0.0}, ("stat",))


@implementer(IMetric)
class PBXCollector:
    """
    The one collector of a PBX's registry: the core's families, then every
    member of the C{metric} registry. A member that fails is logged and left
    out of this scrape; the others still answer.
    """

    name = "pbx"

    def __init__(self, pbx, extra=(), core=True):
        self.pbx = pbx
        self.extra = tuple(extra)
        self.core = core

    def collect(self):
        sources = [("core", lambda: coreMetrics(self.pbx))] if self.core else []
        sources += [(getattr(m, "name", repr(m)), m.collect) for m in self.extra]
        sources += [(m.name, m.collect) for m in self.pbx.registry("metric")]
        for name, collect in sources:
            try:
                families = list(collect())
            except Exception:
                log.failure("metric {name} failed to collect", name=name)
                continue
            yield from families


def makeRegistry(pbx, extra=(), core=True):
    """A C{CollectorRegistry} of its own for C{pbx} (without the core's families unless C{core})."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PBXCollector(pbx, extra, core))
    return registry
