"""pbx.conf decides what is logged: debug lines, Twisted's per-socket RTP lines (pure)."""

from twisted.logger import LogLevel

from pbxcore.logfilter import keepEvent

RTP = (10000, 20000)


def legacy(text):
    return {"log_namespace": "log_legacy", "log_format": "{log_text}", "log_text": text,
            "log_level": LogLevel.info}


def test_debug_lines_only_with_debug_above_zero():
    event = {"log_namespace": "x", "log_format": "hello", "log_level": LogLevel.debug}
    assert not keepEvent(event, debug=0, verbose=3, rtpRange=RTP)
    assert keepEvent(event, debug=1, verbose=3, rtpRange=RTP)
    info = dict(event, log_level=LogLevel.info)
    assert keepEvent(info, debug=0, verbose=0, rtpRange=RTP)


def test_rtp_socket_lines_dropped_up_to_verbose_3():
    for text in ("_RTPProtocol starting on 12346", "_RTCPProtocol starting on 12347",
                 "(UDP Port 12346 Closed)", "(UDP Port 12347 Closed)"):
        assert not keepEvent(legacy(text), debug=0, verbose=3, rtpRange=RTP), text
        assert keepEvent(legacy(text), debug=0, verbose=4, rtpRange=RTP), text


def test_other_socket_lines_kept():
    assert keepEvent(legacy("SIPDatagramProtocol starting on 5060"), 0, 3, RTP)
    assert keepEvent(legacy("(UDP Port 5060 Closed)"), 0, 3, RTP)
    assert keepEvent(legacy("(TCP Port 5038 Closed)"), 0, 3, RTP)
    assert keepEvent(legacy("something else entirely"), 0, 0, RTP)
