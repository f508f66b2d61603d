"""Matching rules: RFC 3261 sections 17.1.3, 17.2.3 and 9.2, and RFC 2543 fallback."""

from channels.sip.machines.transaction import (
    InviteServerTransaction,
    cancelMatches,
    cancelTargetKey,
    clientKey,
    makeCancel,
    serverKey,
    serverMatches,
)

from .helpers import UAC, request, response


def test_ackMatchesItsInvite():
    invite = request()
    ack = request("ACK", toTag="bobtag")
    assert serverKey(ack) == serverKey(invite)


def test_cancelIsItsOwnTransactionButFindsTheInvite():
    invite = request()
    cancel = request("CANCEL")
    assert serverKey(cancel) != serverKey(invite)
    assert cancelTargetKey(cancel) == serverKey(invite)
    machine = InviteServerTransaction(invite, UAC, 0.0)
    assert cancelMatches(machine, cancel)


def test_keyDependsOnBranchSentByAndMethod():
    invite = request()
    assert serverKey(request(branch="z9hG4bKother")) != serverKey(invite)
    assert serverKey(request(sentBy="192.0.2.9:5060")) != serverKey(invite)
    assert serverKey(request("OPTIONS")) != serverKey(invite)
    # Host case and an explicit default port do not matter.
    a = request(sentBy="Host.Example.COM")
    b = request(sentBy="host.example.com:5060")
    assert serverKey(a) == serverKey(b)
    tls = request(sentBy="host.example.com", transport="TLS")
    assert serverKey(tls) == serverKey(request(sentBy="host.example.com:5061", transport="TLS"))


def test_clientKeyIsBranchAndCSeqMethod():
    invite = request()
    cancel = makeCancel(invite)
    assert clientKey(response(invite, 180)) == clientKey(invite)
    assert clientKey(response(cancel, 200)) == clientKey(cancel)
    assert clientKey(cancel) != clientKey(invite)
    other = request(branch="z9hG4bKelse")
    assert clientKey(response(other, 200)) != clientKey(invite)


def test_makeCancel():
    invite = request(
        routes=("<sip:p1.example.com;lr>",),
        extraVias=("SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKdown",),
    )
    cancel = makeCancel(invite)
    assert cancel.method == "CANCEL"
    assert cancel.uri == invite.uri
    assert cancel.vias == [invite.topVia]
    assert cancel.headers.get("From") == invite.headers.get("From")
    assert cancel.headers.get("To") == invite.headers.get("To")
    assert cancel.callId == invite.callId
    assert str(cancel.cseq) == "1 CANCEL"
    assert cancel.headers.getall("Route") == ["<sip:p1.example.com;lr>"]


# --- RFC 2543 fallback (no magic cookie) -----------------------------------


def test_rfc2543InviteRetransmission():
    invite = request(branch=None)
    machine = InviteServerTransaction(invite, UAC, 0.0)
    again = request(branch=None)
    assert serverKey(again) == serverKey(invite)
    assert serverMatches(machine, again)
    # Anything else different means another transaction.
    assert serverKey(request(branch=None, cseq=2)) != serverKey(invite)
    assert serverKey(request(branch=None, uri="sip:carol@example.com")) != serverKey(invite)
    assert serverKey(request(branch=None, callId="x@y")) != serverKey(invite)
    assert serverKey(request(branch=None, fromTag="zz")) != serverKey(invite)
    assert serverKey(request(branch=None, sentBy="192.0.2.7")) != serverKey(invite)
    assert not serverMatches(machine, request(branch=None, toTag="stranger"))


def test_rfc2543OldStyleBranchFallsBackToo():
    invite = request(branch="1234abcd")
    assert serverKey(invite) == serverKey(request(branch="1234abcd"))
    assert serverKey(invite)[0] == "2543"


def test_rfc2543AckMatchesOnTheResponsesToTag():
    invite = request(branch=None)
    machine = InviteServerTransaction(invite, UAC, 0.0)
    ack = request("ACK", branch=None, toTag="bobtag")
    assert serverKey(ack) == serverKey(invite)
    # No final response sent yet: nothing to acknowledge.
    assert not serverMatches(machine, ack)
    machine.sendResponse(response(invite, 486, toTag="bobtag"), 0.1)
    assert serverMatches(machine, ack)
    assert not serverMatches(machine, request("ACK", branch=None, toTag="other"))


def test_rfc2543NonInviteKeyIncludesToTag():
    a = request("BYE", branch=None, toTag="t1")
    b = request("BYE", branch=None, toTag="t2")
    assert serverKey(a) != serverKey(b)
    assert serverKey(a) == serverKey(request("BYE", branch=None, toTag="t1"))


def test_rfc2543Cancel():
    invite = request(branch=None)
    machine = InviteServerTransaction(invite, UAC, 0.0)
    cancel = request("CANCEL", branch=None)
    assert serverKey(cancel) != serverKey(invite)
    assert cancelTargetKey(cancel) == serverKey(invite)
    assert cancelMatches(machine, cancel)
    assert not cancelMatches(machine, request("CANCEL", branch=None, toTag="x"))
