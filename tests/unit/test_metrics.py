"""pbxcore.metrics, res_prometheus's prometheus.conf and chan_sip's counters, without a reactor."""

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from channels.sip.net.stats import SIPCounters
from channels.sip.wire.parser import parseMessage
from pbxcore.config import ConfigError, parseText
from pbxcore.metrics import MetricCollector, MetricCounter, MetricGauge, counter, makeRegistry
from pbxcore.testing import FakePBX
from plugins.res_prometheus import PrometheusSettings, fromConfig


def page(pbx):
    found = {}
    for family in text_string_to_metric_families(generate_latest(makeRegistry(pbx)).decode()):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_counter_labels_and_wrong_arity():
    c = MetricCounter("x_events", "Events", ("kind",))
    c.inc("a")
    c.inc("a", amount=3)
    assert c.value("a") == 4 and c.value("b") == 0
    with pytest.raises(ValueError):
        c.inc()


def test_registered_metrics_appear_and_go_with_their_module():
    pbx = FakePBX()
    registrar = pbx.registrar("mod")
    c = MetricCounter("mod_things", "Things")
    registrar.register("metric", c)
    registrar.register("metric", MetricGauge("mod_level", "Level", lambda: {"a": 1, "b": 2},
                                             ("name",)))
    c.inc()
    found = page(pbx)
    assert found[("mod_things_total", ())] == 1
    assert found[("mod_level", (("name", "b"),))] == 2
    registrar.rollback()
    assert ("mod_things_total", ()) not in page(pbx)


def test_a_failing_metric_is_left_out_and_the_rest_answers():
    pbx = FakePBX()
    registrar = pbx.registrar("mod")

    def broken():
        raise RuntimeError("no")

    registrar.register("metric", MetricCollector("mod_broken", broken))
    registrar.register("metric", MetricCollector("mod_ok", lambda: [counter("mod_ok", "OK", 5)]))
    assert page(pbx)[("mod_ok_total", ())] == 5


def test_channels_calls_and_hangup_causes_are_counted():
    pbx = FakePBX()
    from pbxcore.channel import Channel
    from pbxcore.frame import HangupCause

    a = Channel(pbx, "Test/a-1")
    b = Channel(pbx, "Test/b-1", requestor=a)
    found = page(pbx)
    assert found[("asterisk_channels_count", ())] == 2
    assert found[("asterisk_calls_count", ())] == 1
    assert found[("asterisk_calls_total", ())] == 1
    b.hangup(HangupCause.USER_BUSY)
    a.hangup()
    found = page(pbx)
    assert found[("asterisk_channels_count", ())] == 0
    assert found[("asterisk_channels_hangup_total", (("cause", "17"), ("cause_txt", "User busy")))] == 1
    assert found[("asterisk_channels_hangup_total",
                  (("cause", "16"), ("cause_txt", "Normal Clearing")))] == 1


def test_sip_counters_by_method_and_status():
    counts = SIPCounters()
    request = parseMessage(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                           b"From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
                           b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    response = parseMessage(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                            b"From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c\r\n"
                            b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    counts.received(request)
    counts.sent(response)
    counts.sent(response)
    assert counts.requestsIn == {"OPTIONS": 1}
    assert counts.responsesOut == {("OPTIONS", 200): 2}


def test_prometheus_conf():
    assert fromConfig(parseText("")) == PrometheusSettings()
    s = fromConfig(parseText("[general]\nenabled = yes\nuri = /stats/\nauth_username = p\n"))
    assert (s.enabled, s.uri, s.username) == (True, "stats", "p")
    with pytest.raises(ConfigError) as e:
        fromConfig(parseText("[general]\nenabled = maybe\n", "prometheus.conf"))
    assert str(e.value).startswith("prometheus.conf:2:")
    with pytest.raises(ConfigError):
        fromConfig(parseText("[general]\nurl = metrics\n", "prometheus.conf"))
