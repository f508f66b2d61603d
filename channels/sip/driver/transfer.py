"""
Attended transfer by REFER with Replaces (RFC 3515, RFC 3891, RFC 5589 §7).

The transferor has two calls through the PBX: the first with the
transferee, the second with the target. Its REFER on the first dialog
names the second in the Refer-To URI's Replaces header. As Asterisk does,
the transferee's call takes the place of the transferor's second channel
(a masquerade): whatever that channel was doing -- bridged with the target
phone, or running an application -- now goes on with the transferee, so
the transfer works whichever party placed either call. Both of the
transferor's dialogs are then ended with a BYE, after the NOTIFYs that
report the transfer's progress (message/sipfrag).
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.logger import Logger

from channels.sip.wire.grammar import Replaces, parseReplaces
from channels.sip.wire.headers import SIPParseError
from channels.sip.wire.uri import unescape
from pbxcore.bridge import masquerade
from pbxcore.channel import channelFields
from pbxcore.frame import Control, HangupCause

log = Logger()


def replacesOfURI(uri) -> str | None:
    """The (unescaped) Replaces header of a Refer-To URI, or None."""
    for name, value in getattr(uri, "headers", ()) or ():
        if name.lower() == "replaces":
            return unescape(value)
    return None


def _secondSession(sessions, replaces: Replaces):
    """The transferor's second session: tags as the target sees them, or the other way round."""
    target, refusal = sessions.replacedSession(replaces)
    if target is None:
        swapped = Replaces(replaces.callId, replaces.fromTag, replaces.toTag)
        other, _ = sessions.replacedSession(swapped)
        if other is not None:
            return other, None
    return target, refusal


def attendedTransfer(technology, driver, session, request, st, value: str) -> bool:
    """Handle a REFER whose Refer-To carries Replaces C{value}; True once answered."""
    channel = driver.channel
    try:
        replaces = parseReplaces(value)
    except SIPParseError as e:
        session.respond(request, 400, f"Bad Replaces: {e}", st=st)
        return True
    second, refusal = _secondSession(technology.sessions, replaces)
    secondDriver = second.owner if second is not None else None
    secondChannel = getattr(secondDriver, "channel", None)
    if refusal is not None or secondChannel is None or channel is None:
        session.respond(request, *(refusal or (481, "Call/Transaction Does Not Exist")), st=st)
        return True
    bridge = getattr(channel, "bridge", None)
    others = [c for c in (bridge.channels if bridge is not None else []) if c is not channel]
    if not others or secondChannel is channel or others[0].driver is None:
        session.respond(request, 603, "Declined", st=st)
        return True
    transferee = others[0]
    session.respond(request, 202, "Accepted", st=st)
    session.notifyRefer("SIP/2.0 100 Trying", final=False)
    session.notifyRefer("SIP/2.0 200 OK", final=True)
    technology.reactor.callLater(0, complete, technology.pbx, channel, transferee,
                                 secondChannel, secondDriver)
    return True


def _announce(pbx, transferer, transferee, second):
    bridge = getattr(second, "bridge", None)
    fields = [("Result", "Success")] + channelFields(transferer, "OrigTransferer")
    fields += channelFields(second, "SecondTransferer")
    if bridge is not None:
        fields += [("DestType", "Bridge"), ("DestBridgeUniqueid", bridge.uniqueid)]
    else:
        fields += [("DestType", "App"), ("DestApp", getattr(second, "appl", "") or "")]
    fields += channelFields(transferee, "Transferee")
    targets = [c for c in (bridge.channels if bridge is not None else []) if c is not second]
    if targets:
        fields += channelFields(targets[0], "TransferTarget")
    fields.append(("IsExternal", "No"))
    pbx.emitEvent("AttendedTransfer", fields, "call")


def complete(pbx, transferer, transferee, second, secondDriver):
    """The transferee's call takes the second channel's place; the transferor's legs end."""
    if transferee.hangupRequested or second.hangupRequested or transferee.driver is None:
        log.info("attended transfer of {channel}: a party left first", channel=transferee.name)
        return
    _announce(pbx, transferer, transferee, second)
    name = transferer.name
    # The transferor's second dialog lets go of its channel object, which
    # takes the transferee's call over; the old transferee object, left
    # without a driver, ends the first call (a BYE to the transferor).
    secondDriver.channel = None
    second.driver = None
    masquerade(second, transferee)
    secondDriver.hangup(transferee, HangupCause.NORMAL_CLEARING)
    transferee.softHangup(HangupCause.NORMAL_CLEARING, "transfer")
    second.setVariable("ATTENDEDTRANSFER", name)
    pbx.verbose(3, f"Attended transfer: {second.name} takes the place of the transferor's "
                   f"second call ({name})")
    indicate = getattr(second, "indicate", None)
    if indicate is not None:
        defer.ensureDeferred(indicate(Control.UNHOLD)).addErrback(lambda f: None)
