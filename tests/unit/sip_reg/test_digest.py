"""Digest authentication (pure): header syntax, RFC test values, nonces."""

from channels.sip.wire.digest import (
    Challenge, NonceCheck, NonceManager, buildAuthorization, chooseChallenge,
    computeHA1, computeResponse, parseChallenge, parseCredentials, parseDigest,
)


def test_rfc7616_sha256_example():
    # RFC 7616 section 3.9.1, SHA-256 with qop=auth.
    ha1 = computeHA1("SHA-256", "Mufasa", "http-auth@example.org", "Circle of Life")
    response = computeResponse("SHA-256", ha1, "GET", "/dir/index.html",
                               "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "auth", "00000001",
                               "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    assert response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_rfc2617_md5_example():
    ha1 = computeHA1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    response = computeResponse("MD5", ha1, "GET", "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                               "auth", "00000001", "0a4f113b")
    assert response == "6629fae49393a05397450978507c4ef1"


def test_parse_quoted_and_tokens():
    assert parseDigest('Digest realm="a, b", nonce="x\\"y", algorithm=MD5,qop="auth"') == \
        {"realm": "a, b", "nonce": 'x"y', "algorithm": "MD5", "qop": "auth"}
    assert parseDigest("Basic abc") is None
    assert parseDigest('Digest realm="open') is None


def test_credentials_validation():
    base = 'Digest username="u", realm="r", nonce="n", uri="sip:x", response="ABC"'
    c = parseCredentials(base)
    assert (c.username, c.algorithm, c.response, c.qop) == ("u", "MD5", "abc", None)
    assert parseCredentials(base + ", algorithm=SHA-512-256") is None
    assert parseCredentials(base + ", qop=auth") is None  # qop without nc/cnonce
    assert parseCredentials(base + ', qop=auth, nc=1, cnonce="c"') is None  # nc is 8 hex digits
    assert parseCredentials(base + ', qop=auth, nc=00000001, cnonce="c"').nc == "00000001"
    assert parseCredentials('Digest realm="r"') is None


def test_client_answers_strongest_challenge():
    values = ['Digest realm="r", nonce="n1", algorithm=MD5', 'Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth"']
    challenge = chooseChallenge(values)
    assert challenge.algorithm == "SHA-256" and challenge.qop == ("auth",)
    header = buildAuthorization(challenge, "REGISTER", "sip:r", "u", "pw", "cn", 2)
    c = parseCredentials(header)
    assert (c.nc, c.cnonce, c.algorithm) == ("00000002", "cn", "SHA-256")
    assert c.response == computeResponse("SHA-256", computeHA1("SHA-256", "u", "r", "pw"), "REGISTER", "sip:r", "n2", "auth", "00000002", "cn")
    assert str(parseChallenge(str(Challenge("r", "n", "MD5", ("auth",), True)))) == 'Digest realm="r", nonce="n", stale=true, algorithm=MD5, qop="auth"'


def test_nonces_bound_expiring_and_counted():
    nonces = NonceManager(b"k" * 32, lifetime=30)
    n = nonces.make(100.0, b"r" * 12, "realm")
    assert nonces.check(n, "realm", "00000001", 110.0) is NonceCheck.VALID
    assert nonces.check(n, "other", "00000001", 110.0) is NonceCheck.INVALID
    assert NonceManager(b"j" * 32).check(n, "realm", "00000001", 110.0) is NonceCheck.INVALID
    assert nonces.check(n[:-2] + "AA", "realm", "00000001", 110.0) is NonceCheck.INVALID
    assert nonces.check("garbage!", "realm", None, 110.0) is NonceCheck.INVALID
    assert nonces.check(n, "realm", "00000001", 131.0) is NonceCheck.STALE
    nonces.accept(n, "00000001", 110.0)
    assert nonces.check(n, "realm", "00000001", 111.0) is NonceCheck.REPLAYED
    assert nonces.check(n, "realm", "00000002", 111.0) is NonceCheck.VALID
    nonces.prune(200.0)
    assert len(nonces) == 0


def test_nonce_table_stays_bounded():
    nonces = NonceManager(b"k" * 32, lifetime=30)
    for i in range(10_000):
        now = float(i)  # one accepted nonce a second for almost three hours
        n = nonces.make(now, i.to_bytes(12, "big"), "r")
        assert nonces.check(n, "r", "00000001", now) is NonceCheck.VALID
        nonces.accept(n, "00000001", now)
    assert len(nonces) < 2100
