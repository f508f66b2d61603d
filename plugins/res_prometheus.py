"""
res_prometheus: the PBX's metrics at C{/metrics} of the HTTP server, in
Prometheus' text format (C{prometheus_client}).

prometheus.conf is Asterisk's: C{[general]} C{enabled}, C{core_metrics_enabled}
(the core's families: channels, calls, hangup causes, uptime, reactor lag),
C{uri} (default C{metrics}), C{auth_username}, C{auth_password},
C{auth_realm} (HTTP basic authentication when a user is set).

Nothing is counted here: each part of the PBX keeps plain integers where it
works (the SIP stack, the RTP engine, the channel list, the manager) and
registers a L{pbxcore.metrics} member of kind C{metric} that turns them into
families when the page is read. Every PBX has its own C{CollectorRegistry}.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import SummaryMetricFamily
from twisted.logger import Logger
from twisted.web.resource import Resource

from pbxcore.api import ConfigError, MetricCollector, Module, isFalse, isTrue, parseFile
from pbxcore.http import HTTPURI
from pbxcore.metrics import gauge, makeRegistry

_GENERAL = frozenset({"enabled", "core_metrics_enabled", "uri", "auth_username",
                      "auth_password", "auth_realm"})


@dataclass(frozen=True)
class PrometheusSettings:
    enabled: bool = False
    coreMetrics: bool = True
    uri: str = "metrics"
    username: str = ""
    password: str = ""
    realm: str = "Asterisk Prometheus Metrics"


def _bool(entry):
    if isTrue(entry.value):
        return True
    if isFalse(entry.value):
        return False
    raise ConfigError(f"{entry.key} must be yes or no, not {entry.value!r}",
                      entry.filename, entry.line)


def fromConfig(config) -> PrometheusSettings:
    """L{PrometheusSettings} from a parsed prometheus.conf (pure; ConfigError file:line)."""
    values = {}
    for section in config.sections:
        if section.name.lower() != "general":
            continue
        for entry in section.entries:
            key = entry.key.lower()
            if key not in _GENERAL:
                raise ConfigError(f"unknown prometheus.conf option {entry.key!r}",
                                  entry.filename, entry.line)
            if key == "enabled":
                values["enabled"] = _bool(entry)
            elif key == "core_metrics_enabled":
                values["coreMetrics"] = _bool(entry)
            elif key == "uri":
                uri = entry.value.strip().strip("/")
                if not uri or any(s in (".", "..") for s in uri.split("/")):
                    raise ConfigError(f"uri must be a path, not {entry.value!r}",
                                      entry.filename, entry.line)
                values["uri"] = uri
            elif key == "auth_username":
                values["username"] = entry.value.strip()
            elif key == "auth_password":
                values["password"] = entry.value
            elif key == "auth_realm":
                values["realm"] = entry.value.strip()
    return PrometheusSettings(**values)


class ReactorLag:
    """
    How late the reactor runs a call it was asked to run C{interval} seconds
    from now: a busy reactor answers SIP and RTP late by as much.
    """

    def __init__(self, reactor, interval=1.0):
        self.reactor = reactor
        self.interval = interval
        self.last = 0.0
        self.total = 0.0
        self.samples = 0
        self._call = None
        self._due = None

    def start(self):
        self._due = self.reactor.seconds() + self.interval
        self._call = self.reactor.callLater(self.interval, self._tick)

    def _tick(self):
        now = self.reactor.seconds()
        self.last = max(0.0, now - self._due)
        self.total += self.last
        self.samples += 1
        self.start()

    def stop(self):
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def collect(self):
        yield gauge("asterisk_core_reactor_lag_last_seconds",
                    "How late the last 1 s timer of the reactor fired", self.last)
        yield SummaryMetricFamily("asterisk_core_reactor_lag_seconds",
                                  "How late the reactor's 1 s timers fired",
                                  count_value=self.samples, sum_value=self.total)


class MetricsResource(Resource):
    """GET: the registry in Prometheus' text format (basic auth when configured)."""

    isLeaf = True

    def __init__(self, registry, settings):
        super().__init__()
        self.registry = registry
        self.settings = settings

    def _authorised(self, request):
        s = self.settings
        if not s.username:
            return True
        user = request.getUser().decode("utf-8", "replace")
        password = request.getPassword().decode("utf-8", "replace")
        return (hmac.compare_digest(user.encode(), s.username.encode())
                and hmac.compare_digest(password.encode(), s.password.encode()))

    def render_GET(self, request):
        if not self._authorised(request):
            request.setResponseCode(401)
            realm = self.settings.realm.replace('"', "")
            request.setHeader(b"WWW-Authenticate", f'Basic realm="{realm}"'.encode())
            return b"Unauthorized\n"
        request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode())
        return generate_latest(self.registry)

    def render_HEAD(self, request):
        return self.render_GET(request)


class PrometheusModule(Module):
    """Mounts /metrics (prometheus.conf) and samples the reactor's lag."""

    log = Logger()

    def __init__(self):
        self.settings = None
        self.lag = None
        self.resource = None

    def _read(self, pbx):
        path = os.path.join(pbx.configDir, "prometheus.conf")
        if not os.path.exists(path):
            return PrometheusSettings()
        return fromConfig(parseFile(path))

    def load(self, pbx, registrar):
        from pbxcore.api import ModuleDeclined

        settings = self._read(pbx)
        if not settings.enabled:
            raise ModuleDeclined("prometheus.conf: [general] enabled = no")
        self.settings = settings
        extra = ()
        if settings.coreMetrics:
            self.lag = ReactorLag(pbx.reactor)
            self.lag.start()
            registrar.addCleanup(self.lag.stop)
            extra = (MetricCollector("asterisk_core_reactor", self.lag.collect),)
        registry = makeRegistry(pbx, extra, core=settings.coreMetrics)
        self.resource = MetricsResource(registry, settings)
        registrar.register("http.uri", HTTPURI(settings.uri, self.resource,
                                               "Prometheus metrics"))

    def reload(self, pbx):
        """New credentials apply at once; a new uri after a restart."""
        settings = self._read(pbx)
        if settings.uri != self.settings.uri:
            self.log.warn("prometheus.conf: a new uri applies after a restart")
        self.settings = settings
        if self.resource is not None:
            self.resource.settings = settings
