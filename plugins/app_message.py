"""
app_message: out-of-call text messages in the dialplan, Asterisk style.

    ${MESSAGE(to)} ${MESSAGE(from)} ${MESSAGE(body)}   read (and Set) the message
    MessageSend(destination[,from])                    send it

An incoming SIP MESSAGE outside a dialog runs the dialplan of its sender's
context (the general context for unknown senders) at the To user, on a
channel named C{Message/ast_msg_queue} whose MESSAGE() fields hold it.
MessageSend takes C{sip:peer}, C{sip:user@host[:port]} or C{SIP/peer} and
sets MESSAGE_SEND_STATUS to SUCCESS (2xx), FAILURE or INVALID_URI.
"""

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import FunctionApplication, Module
from pbxcore.dialplan.expr import splitArgs
from pbxcore.interfaces import IDialplanFunction

log = Logger(namespace="plugins.app_message")

DATASTORE = "message"
FIELDS = ("to", "from", "body")


def messageOf(channel) -> dict:
    """The MESSAGE() fields of C{channel} (created empty on first use)."""
    store = channel.datastores.get(DATASTORE)
    if store is None:
        store = channel.datastores[DATASTORE] = {"to": "", "from": "", "body": ""}
    return store


@implementer(IDialplanFunction)
class MessageFunction:
    name = "MESSAGE"
    synopsis = "Create a message or read fields from a message."

    def read(self, channel, args):
        field = (args or "").strip().lower()
        if channel is None or field not in FIELDS:
            return ""
        return messageOf(channel)[field]

    def write(self, channel, args, value):
        field = (args or "").strip().lower()
        if channel is None or field not in FIELDS:
            raise ValueError(f"MESSAGE({args}): unknown field (to, from, body)")
        messageOf(channel)[field] = "" if value is None else str(value)


def _stackOf(pbx):
    try:
        technology = pbx.registry("technology").get("SIP")
    except KeyError:
        return None
    return getattr(technology, "stack", None)


def resolveDestination(stack, destination):
    """(Request-URI, Address) for a MessageSend destination, or None."""
    from channels.sip.net.address import Address
    from channels.sip.wire.uri import parseURI

    text = destination.strip()
    if text.upper().startswith("SIP/"):
        text = "sip:" + text[4:]
    if not text.lower().startswith(("sip:", "sips:")):
        return None
    peers = getattr(stack, "peers", None)
    rest = text.split(":", 1)[1]
    if "@" not in rest and peers is not None:
        peer = peers.peerFor(rest)
        if peer is None:
            return None
        return peers.targetOf(peer)
    try:
        uri = parseURI(text)
    except Exception:
        return None
    transport = (uri.param("transport") or "udp").upper()
    return text, Address(transport, uri.host.strip("[]"), uri.port or 5060)


async def messageSend(channel, data):
    args = splitArgs(data or "")
    destination = args[0].strip() if args else ""
    sender = args[1].strip() if len(args) > 1 else ""
    stack = _stackOf(channel.pbx)
    target = resolveDestination(stack, destination) if stack is not None and destination else None
    if target is None:
        log.warn("MessageSend: cannot send to '{destination}'", destination=destination)
        channel.setVariable("MESSAGE_SEND_STATUS", "INVALID_URI")
        return
    uri, address = target
    message = messageOf(channel)
    sender = sender or message["from"] or "asterisk"
    headers = [("Content-Type", "text/plain;charset=UTF-8")]
    request = stack.peers.makeRequest("MESSAGE", uri, address, contactUser=None,
                                      fromUri=_fromURI(stack, address, sender), headers=headers)
    request.body = message["body"].encode("utf-8")
    request.headers.set("Content-Length", str(len(request.body)))
    request.headers.remove("Contact")
    done = defer.Deferred()

    def response(r):
        if r.status >= 200 and not done.called:
            done.callback(r.status)

    stack.transactions.sendRequest(request, address, response)
    status = await done
    channel.setVariable("MESSAGE_SEND_STATUS", "SUCCESS" if 200 <= status < 300 else "FAILURE")


def _fromURI(stack, address, sender):
    if sender.lower().startswith(("sip:", "sips:")):
        return sender
    if "<" in sender:
        return sender.split("<", 1)[1].split(">", 1)[0]
    host, port = stack.peers.localAddress(address)
    return f"sip:{sender}@{host}:{port}"


class AppMessageModule(Module):
    """MessageSend and MESSAGE(); incoming MESSAGEs are run by chan_sip."""

    def load(self, pbx, registrar):
        registrar.register("function", MessageFunction())
        registrar.register("application", FunctionApplication(
            "MessageSend", messageSend, "Send a text message", __doc__))
