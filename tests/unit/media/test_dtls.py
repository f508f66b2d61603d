"""
DTLS-SRTP between two endpoints over memory BIOs: no sockets, no reactor.
The handshake keys SRTP on both sides alike, a wrong a=fingerprint is
refused, and a lost flight is sent again when the timer fires.
"""

import struct
import time

import pytest

from pbxcore.media.dtls import CLIENT, SERVER, DTLSCertificate, DTLSEndpoint, DTLSError


@pytest.fixture(scope="module")
def certificates():
    return DTLSCertificate.generate("a"), DTLSCertificate.generate("b")


def handshake(client, server, drop=()):
    """Pass flights both ways until both are done; flights whose index is in drop are lost."""
    flights = 0
    pending = client.start()
    to = server
    while pending or not (client.done and server.done):
        replies = []
        for datagram in pending:
            if flights in drop:
                continue
            replies += to.receive(datagram)
        flights += 1
        if not pending:
            break
        pending, to = replies, (client if to is server else server)
    return flights


def test_handshake_keys_both_sides(certificates):
    a, b = certificates
    client = DTLSEndpoint(a, CLIENT, remoteFingerprint=b.fingerprint)
    server = DTLSEndpoint(b, SERVER, remoteFingerprint=a.fingerprint)
    handshake(client, server)
    assert client.done and server.done
    assert client.suite == server.suite == "AES_CM_128_HMAC_SHA1_80"
    packet = struct.pack("!BBHII", 0x80, 0, 7, 160, 99) + b"\xff" * 160
    assert server.srtp.unprotect(client.srtp.protect(packet)) == packet
    assert client.srtp.unprotect(server.srtp.protect(packet)) == packet
    assert len(a.fingerprint) == 32 and a.fingerprint != b.fingerprint


def test_wrong_fingerprint_is_refused(certificates):
    a, b = certificates
    client = DTLSEndpoint(a, CLIENT, remoteFingerprint=a.fingerprint)  # not b's
    server = DTLSEndpoint(b, SERVER)
    with pytest.raises(DTLSError, match="fingerprint"):
        handshake(client, server)
    assert client.srtp is None and client.failed


def test_lost_flight_is_retransmitted(certificates):
    a, b = certificates
    client = DTLSEndpoint(a, CLIENT)
    server = DTLSEndpoint(b, SERVER)
    hello = client.start()
    assert hello and client.timeout() is not None and client.timeout() > 0
    # The ClientHello is lost; the timer's flight gets through. OpenSSL
    # keeps the DTLS timer on the real clock, so its time is waited out.
    time.sleep(client.timeout() + 0.05)
    again = client.handleTimeout()
    assert again
    pending, to = again, server
    while pending:
        replies = []
        for datagram in pending:
            replies += to.receive(datagram)
        pending, to = replies, (client if to is server else server)
    assert client.done and server.done
    assert client.timeout() is None


def test_garbage_is_dropped_and_the_handshake_still_works(certificates):
    # DTLS discards records it cannot read (RFC 6347 section 4.1.2.7).
    a, b = certificates
    server = DTLSEndpoint(b, SERVER)
    assert server.receive(b"\x16\xfe\xfd" + b"\x00" * 40) == []
    assert server.receive(b"\x17") == []
    assert not server.failed
    client = DTLSEndpoint(a, CLIENT, remoteFingerprint=b.fingerprint)
    handshake(client, server)
    assert client.done and server.done


def test_certificate_from_files(tmp_path, certificates):
    from cryptography.hazmat.primitives import serialization
    cert, key = certificates[0].certificate, certificates[0].key
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    loaded = DTLSCertificate.load(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    assert loaded.fingerprint == certificates[0].fingerprint
    (tmp_path / "bad.pem").write_bytes(b"not a certificate")
    with pytest.raises(DTLSError):
        DTLSCertificate.load(str(tmp_path / "bad.pem"))
