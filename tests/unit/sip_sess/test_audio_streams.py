"""
res_sdp_rtp's answer to offers with several audio m-lines: the first audio
stream it can take is taken, every later one refused with port 0 (one audio
stream a call, as Asterisk). No reactor: the RTP engine is a fake.
"""

from channels.sip.driver.sessionmedia import MediaStream, _taken
from channels.sip.wire.sdp import parseSDP
from plugins.res_sdp_rtp import AudioSDPHandler

OFFER = b"""v=0\r
o=- 1 1 IN IP4 127.0.0.1\r
s=-\r
c=IN IP4 127.0.0.1\r
t=0 0\r
m=audio 5000 TCP/RTP/AVP 0\r
m=audio 5002 RTP/AVP 0 8\r
m=audio 5004 RTP/AVP 0\r
m=video 5006 RTP/AVP 96\r
"""


class FakeEndpoint:
    localPort = 40000
    dtmfPayload = None

    def start(self, host):
        self.host = host


class FakeEngine:
    def __init__(self):
        self.created = 0

    def createSession(self, **kw):
        self.created += 1
        return FakeEndpoint()


class FakeManager:
    def mediaAddress(self, destination):
        return "127.0.0.1"


class FakeSession:
    peer = None
    destination = None
    manager = FakeManager()
    codecs = ["ulaw", "alaw"]

    def __init__(self):
        self.streams = []

    def frameReceived(self, frame):
        pass


def negotiate(handler, session, offer):
    """What the session's SDP dispatch does, m-line by m-line in order."""
    answers = []
    for index, media in enumerate(offer.media):
        stream = MediaStream(index, media.mediaType)
        session.streams.append(stream)
        answer = handler.negotiateIncomingStream(session, stream, offer, media) if media.mediaType == "audio" else None
        stream.handler = handler if answer is not None else None
        stream.local = answer
        answers.append(answer)
    return answers


def test_onlyTheFirstUsableAudioStreamIsTaken():
    engine = FakeEngine()
    handler = AudioSDPHandler(reactor=object(), engine=engine)
    session = FakeSession()
    answers = negotiate(handler, session, parseSDP(OFFER))
    assert [a.port if a is not None else None for a in answers] == [0, 40000, 0, None]
    assert answers[0].proto == "TCP/RTP/AVP"
    assert answers[2].formats == ("0",)
    assert engine.created == 1


def test_aReofferKeepsTheStreamInUse():
    engine = FakeEngine()
    handler = AudioSDPHandler(reactor=object(), engine=engine)
    session = FakeSession()
    offer = parseSDP(OFFER)
    negotiate(handler, session, offer)
    # The same offer again, stream by stream on the existing streams.
    ports = []
    for stream, media in zip(session.streams, offer.media):
        if media.mediaType != "audio":
            continue
        stream.local = handler.negotiateIncomingStream(session, stream, offer, media)
        ports.append(stream.local.port)
    assert ports == [0, 40000, 0]


def test_refusedStreamsGetNoMedia():
    stream = MediaStream(0, "audio")
    assert _taken(stream)
    stream.local = parseSDP(OFFER).media[1]
    assert _taken(stream)
    stream.local = parseSDP(OFFER.replace(b"5002", b"0")).media[1]
    assert not _taken(stream)
