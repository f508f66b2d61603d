"""
DTLS-SRTP (RFC 5763, RFC 5764): the handshake that keys SRTP, over memory
BIOs of pyOpenSSL.

No reactor here: L{DTLSEndpoint} takes datagrams and the time and returns
datagrams to send and the next retransmission deadline (OpenSSL's own DTLS
timer, read with C{DTLSv1_get_timeout}); the media shell sends and re-arms.
The certificate is a L{DTLSCertificate}: loaded from C{dtlscertfile} /
C{dtlsprivatekey}, or made at start (a self-signed ECDSA P-256 one), and
announced in SDP by its SHA-256 fingerprint, which is what authenticates it.
"""

from __future__ import annotations

import datetime
import hashlib
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

from pbxcore.media.srtp import DTLS_SRTP_PROFILES, SRTPContext, keysFromDTLS

__all__ = ["DTLSError", "DTLSCertificate", "DTLSEndpoint", "CLIENT", "SERVER"]

CLIENT, SERVER = "client", "server"
_SRTP_PROFILES = b"SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"
_MTU = 1200


class DTLSError(Exception):
    """The handshake failed, or the peer's certificate is not the one its SDP announced."""


class DTLSCertificate:
    """A certificate and key for DTLS, with its SDP fingerprint."""

    def __init__(self, certificate: x509.Certificate, key):
        self.certificate = certificate
        self.key = key
        self.fingerprint = certificate.fingerprint(hashes.SHA256())

    @classmethod
    def generate(cls, commonName: str = "txpbx", days: int = 30) -> "DTLSCertificate":
        """A fresh self-signed certificate (what Asterisk does with dtlsautogeneratecert)."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, commonName)])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder()
                       .subject_name(name).issuer_name(name).public_key(key.public_key())
                       .serial_number(int.from_bytes(os.urandom(8), "big") >> 1)
                       .not_valid_before(now - datetime.timedelta(days=1))
                       .not_valid_after(now + datetime.timedelta(days=days))
                       .sign(key, hashes.SHA256()))
        return cls(certificate, key)

    @classmethod
    def load(cls, certFile: str, keyFile: str | None = None) -> "DTLSCertificate":
        """From PEM files (the key may be in the certificate's file)."""
        with open(certFile, "rb") as f:
            certData = f.read()
        keyData = certData
        if keyFile:
            with open(keyFile, "rb") as f:
                keyData = f.read()
        try:
            certificate = x509.load_pem_x509_certificate(certData)
            key = serialization.load_pem_private_key(keyData, password=None)
        except ValueError as e:
            raise DTLSError(f"cannot load DTLS certificate {certFile}: {e}") from None
        return cls(certificate, key)

    def context(self) -> SSL.Context:
        context = SSL.Context(SSL.DTLS_METHOD)
        context.use_certificate(self.certificate)
        context.use_privatekey(self.key)
        context.check_privatekey()
        context.set_tlsext_use_srtp(_SRTP_PROFILES)
        # The peer's certificate is self-signed: it is checked against the
        # fingerprint of its SDP after the handshake, not against a CA.
        context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
                           lambda *args: True)
        return context


class DTLSEndpoint:
    """
    One DTLS association keying one SRTP stream. C{role} is CLIENT (we
    sent a=setup:active) or SERVER (passive). C{remoteFingerprint} is the
    SHA-256 digest the peer's SDP announced (None: not checked).
    """

    def __init__(self, certificate: DTLSCertificate, role: str,
                 remoteFingerprint: bytes | None = None):
        if role not in (CLIENT, SERVER):
            raise ValueError(f"bad DTLS role {role!r}")
        self.role = role
        self.remoteFingerprint = remoteFingerprint
        self.connection = SSL.Connection(certificate.context(), None)
        self.connection.set_ciphertext_mtu(_MTU)
        if role == CLIENT:
            self.connection.set_connect_state()
        else:
            self.connection.set_accept_state()
        self.done = False
        self.failed: str | None = None
        self.srtp: SRTPContext | None = None
        self.suite: str | None = None
        self._started = False

    def start(self) -> list[bytes]:
        """The first flight (a client's ClientHello); nothing for a server."""
        if self._started or self.role == SERVER:
            return []
        self._started = True
        return self._step()

    def receive(self, data: bytes) -> list[bytes]:
        """A DTLS datagram from the peer; returns what to send back."""
        if self.failed:
            return []
        self._started = True
        self.connection.bio_write(data)
        if self.done:
            try:
                self.connection.recv(2048)
            except (SSL.WantReadError, SSL.ZeroReturnError):
                pass
            except SSL.Error as e:
                self.failed = f"DTLS error after the handshake: {e}"
            return self._flush()
        return self._step()

    def _step(self) -> list[bytes]:
        try:
            self.connection.do_handshake()
        except SSL.WantReadError:
            return self._flush()
        except SSL.Error as e:
            self.failed = f"DTLS handshake failed: {e}"
            out = self._flush()
            raise DTLSError(self.failed) from None
        out = self._flush()
        self._finish()
        return out

    def _finish(self):
        peer = self.connection.get_peer_certificate()
        if peer is None:
            self.failed = "the DTLS peer sent no certificate"
            raise DTLSError(self.failed)
        digest = hashlib.sha256(peer.to_cryptography().public_bytes(
            serialization.Encoding.DER)).digest()
        if self.remoteFingerprint is not None and digest != self.remoteFingerprint:
            self.failed = "the DTLS peer's certificate does not match its a=fingerprint"
            raise DTLSError(self.failed)
        profile = self.connection.get_selected_srtp_profile()
        suite = DTLS_SRTP_PROFILES.get(profile)
        if suite is None:
            self.failed = f"no SRTP profile agreed in DTLS ({profile!r})"
            raise DTLSError(self.failed)
        material = self.connection.export_keying_material(b"EXTRACTOR-dtls_srtp", 60)
        local, remote = keysFromDTLS(material, suite, self.role == CLIENT)
        self.suite = suite
        self.srtp = SRTPContext(suite, local, remote)
        self.done = True

    def _flush(self) -> list[bytes]:
        out = []
        while True:
            try:
                data = self.connection.bio_read(65535)
            except SSL.WantReadError:
                break
            if not data:
                break
            out.append(data)
        return out

    def timeout(self) -> float | None:
        """Seconds until OpenSSL wants to retransmit its last flight, or None."""
        if self.done or self.failed or not self._started:
            return None
        return self.connection.DTLSv1_get_timeout()

    def handleTimeout(self) -> list[bytes]:
        """The retransmission timer fired: the flight to send again."""
        if self.done or self.failed:
            return []
        try:
            self.connection.DTLSv1_handle_timeout()
        except SSL.Error as e:
            self.failed = f"DTLS handshake timed out: {e}"
            return []
        return self._flush()
