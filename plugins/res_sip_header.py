"""
res_sip_header: SIP headers from the dialplan.

    ${SIP_HEADER(name[,n])}          the n-th (1-based; default 1) value of
                                     header C{name} in the INVITE that
                                     started this SIP channel's call
    Set(SIP_ADDHEADER(name)=value)   add C{name: value} to the INVITEs of
    SIPAddHeader(name: value)        the channels this one dials

As in Asterisk, headers to add live in the inherited channel variables
C{__SIPADDHEADER01} ... C{__SIPADDHEADER50}, so they follow the call through
Dial (and Local channels) to the outgoing SIP leg, where the supplement puts
them on the INVITE.
"""

from __future__ import annotations

from twisted.logger import Logger
from zope.interface import implementer

from channels.sip.interfaces import SessionSupplement, registerSupplement
from pbxcore.api import Module
from pbxcore.dialplan.expr import splitArgs
from pbxcore.interfaces import IApplication, IDialplanFunction

log = Logger()

MAX_HEADERS = 50
VARIABLE = "SIPADDHEADER"
#: Headers the dialplan may not add: the transaction and dialog layers own them.
RESERVED = frozenset({"via", "from", "to", "call-id", "cseq", "contact", "max-forwards",
                      "content-length", "content-type", "route", "record-route"})


def headerVariables(channel):
    """(variable name, 'Name: value') of the headers C{channel} will add, in order."""
    out = []
    for i in range(1, MAX_HEADERS + 1):
        name = f"{VARIABLE}{i:02d}"
        value = channel.variables.get(name)
        if value:
            out.append((name, value))
    return out


def addHeader(channel, name, value):
    """Record C{name: value} on C{channel} (inherited by what it dials)."""
    name = name.strip()
    if not name or ":" in name or any(c.isspace() for c in name):
        raise ValueError(f"invalid SIP header name {name!r}")
    if name.lower() in RESERVED:
        raise ValueError(f"the SIP header {name} cannot be added from the dialplan")
    for i in range(1, MAX_HEADERS + 1):
        variable = f"{VARIABLE}{i:02d}"
        if not channel.variables.get(variable):
            channel.setVariable("__" + variable, f"{name}: {value.strip()}")
            return
    raise ValueError(f"no room for more than {MAX_HEADERS} SIP headers")


def sessionOf(channel):
    """The SIP session behind C{channel}, or None for other technologies."""
    driver = getattr(channel, "driver", None)
    return getattr(driver, "session", None)


@implementer(IDialplanFunction)
class SIPHeaderFunction:
    name = "SIP_HEADER"
    synopsis = "Gets the specified SIP header from an incoming INVITE message"

    def read(self, channel, args):
        parts = splitArgs(args)
        if not parts or not parts[0].strip():
            log.warn("SIP_HEADER requires a header name")
            return ""
        try:
            index = int(parts[1]) if len(parts) > 1 and parts[1].strip() else 1
        except ValueError:
            log.warn("SIP_HEADER: {n!r} is not a number", n=parts[1])
            return ""
        session = sessionOf(channel)
        invite = getattr(session, "invite", None)
        if invite is None or getattr(session, "role", None) != "uas":
            return ""
        values = invite.headers.getall(parts[0].strip())
        if index < 1 or index > len(values):
            return ""
        return values[index - 1]

    def write(self, channel, args, value):
        from pbxcore.errors import ReadOnlyFunction

        raise ReadOnlyFunction("SIP_HEADER is read-only")


@implementer(IDialplanFunction)
class SIPAddHeaderFunction:
    name = "SIP_ADDHEADER"
    synopsis = "Adds a SIP header to the INVITEs of the channels this one dials"

    def read(self, channel, args):
        """The value this channel will send for header C{args}, if any."""
        if channel is None:
            return ""
        wanted = (args or "").strip().lower()
        for _, text in headerVariables(channel):
            name, _, value = text.partition(":")
            if name.strip().lower() == wanted:
                return value.strip()
        return ""

    def write(self, channel, args, value):
        if channel is not None:
            addHeader(channel, args or "", "" if value is None else str(value))


@implementer(IApplication)
class SIPAddHeaderApplication:
    name = "SIPAddHeader"
    synopsis = "Add a SIP header to the outbound call"
    description = ("SIPAddHeader(Header: Content): adds the header to the INVITE of the "
                   "channels this channel dials; the variables __SIPADDHEADERnn hold them.")

    def execute(self, channel, data):
        name, sep, value = (data or "").partition(":")
        if not sep:
            log.warn("SIPAddHeader: {data!r} is not 'Header: Content'", data=data)
            return
        try:
            addHeader(channel, name, value)
        except ValueError as e:
            log.warn("SIPAddHeader: {error}", error=str(e))


class AddHeaderSupplement(SessionSupplement):
    """Puts the channel's SIPADDHEADER variables on its outgoing INVITEs."""

    method = "INVITE"
    priority = 100

    def outgoingRequest(self, session, request):
        if session.role != "uac" or session.state == "confirmed":
            return
        channel = session.channel
        if channel is None:
            return
        for _, text in headerVariables(channel):
            name, _, value = text.partition(":")
            request.headers.add(name.strip(), value.strip())


class SIPHeaderModule(Module):
    """res_sip_header."""

    def load(self, pbx, registrar):
        registerSupplement(pbx, registrar, AddHeaderSupplement(), "res_sip_header")
        registrar.register("function", SIPHeaderFunction())
        registrar.register("function", SIPAddHeaderFunction())
        registrar.register("application", SIPAddHeaderApplication())
