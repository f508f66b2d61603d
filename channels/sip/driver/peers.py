"""
sip.conf beyond the transports: the peers and users, the registrar and
qualify settings of C{[general]}, and the C{register =>} lines.

Pure: a parsed L{pbxcore.config.Config} goes in, a L{SIPConfig} comes out.
A wrong value raises L{ConfigError} naming the file and line of the entry;
a key this driver does not know is collected in C{SIPConfig.warnings}
(C{"file:line: ..."}) for the shell to log. Templates and inheritance are
resolved by the config parser, so a peer's entries already hold what it
inherits, in order.

Peers take their defaults from C{[general]} (context, allow/disallow, nat,
dtmfmode, language, qualify, transport), as Asterisk's peers do. The same
builder (L{buildPeer}) turns a realtime C{sippeers} row into a L{Peer}.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable

from channels.sip.driver.config import SIPGeneral, parseGeneral
from channels.sip.driver.security import ACL, parseACLRule
from pbxcore.config import ConfigError, Entry, isFalse, isTrue
from pbxcore.guard import GUARD_KEYS, GuardSettings, parseGuardKey

__all__ = [
    "Peer", "Registration", "RegistrarSettings", "SIPConfig", "parseSIPConf",
    "buildPeer", "parseRegisterLine", "applyCodecs", "KNOWN_CODECS",
]

KNOWN_CODECS = (
    "ulaw", "alaw", "gsm", "g722", "g726", "g726aal2", "g723", "g729", "ilbc",
    "speex", "speex16", "speex32", "lpc10", "adpcm", "slin", "slin16", "opus",
    "siren7", "siren14", "testlaw", "h261", "h263", "h263p", "h264", "vp8",
    "vp9", "jpeg", "png", "t140", "t140red",
)
DEFAULT_CODECS = ("ulaw", "alaw", "gsm", "h263")

PEER_TYPES = ("friend", "peer", "user")
NAT_OPTIONS = frozenset({"force_rport", "comedia", "auto_force_rport", "auto_comedia"})
INSECURE_OPTIONS = frozenset({"port", "invite"})
TRANSPORTS = ("udp", "tcp", "tls", "ws", "wss")
DTMF_MODES = ("rfc2833", "info", "shortinfo", "inband", "auto")
DTLS_VERIFY = ("yes", "no", "fingerprint", "certificate")
DTLS_SETUP = ("active", "passive", "actpass")

# Asterisk's registrar defaults, in seconds.
DEFAULT_MINEXPIRY = 60
DEFAULT_MAXEXPIRY = 3600
DEFAULT_DEFAULTEXPIRY = 120
DEFAULT_QUALIFYFREQ = 60
DEFAULT_QUALIFY_MS = 2000
DEFAULT_REGISTERTIMEOUT = 20
DEFAULT_MAXCONTACTS = 1

# Keys chan_sip accepts that this driver stores (in Peer.extra) without
# acting on them yet: no warning for these.
PASSIVE_PEER_KEYS = frozenset({
    "description", "username", "regexten", "setvar", "busylevel", "amaflags",
    "allowsubscribe", "maxcallbitrate", "outboundproxy", "qualifysmoothing",
    "rtpkeepalive", "session-timers", "session-expires", "session-minse",
    "session-refresher", "directmedia", "canreinvite", "directrtpsetup",
    "videosupport", "textsupport", "callgroup", "pickupgroup",
    "namedcallgroup", "namedpickupgroup", "vmexten", "musiconhold", "mohinterpret",
    "mohsuggest", "trustrpid", "sendrpid", "rpid_update", "progressinband",
    "t38pt_udptl", "t38pt_usertpsource", "parkinglot", "allowtransfer",
    "allowoverlap", "promiscredir", "usereqphone", "callingpres", "cid_number",
    "fullname", "autoframing", "g726nonstandard", "rtptimeout", "rtpholdtimeout",
    "timert1", "timerb", "tos_audio", "tos_video",
    "force_avp", "buggymwi", "constantssrc", "preferred_codec_only", "ignoresdpversion",
    "hasvoicemail", "ringinuse", "unsolicited_mailbox", "use_q850_reason",
    "auth", "remotesecret", "contactpermit", "contactdeny", "contactacl",
    "acl", "callbackextension", "supportpath", "rfc2833compensate", "snom_aoc_enabled",
    "keepalive", "discard_remote_hold_retrieval", "sdpsession", "sdpowner",
    "outofcall_message_context", "directmediapermit", "directmediadeny",
    "maxforwards", "record_on_feature", "record_off_feature", "diversion",
})

PASSIVE_GENERAL_KEYS = frozenset({
    "allowoverlap", "allowtransfer", "srvlookup", "transport", "tos_sip",
    "tos_audio", "tos_video", "tos_text", "cos_sip", "cos_audio", "cos_video",
    "cos_text", "sipdebug", "recordhistory", "dumphistory", "callevents",
    "externip", "externaddr", "externhost", "externrefresh", "localnet",
    "mwiexpiry", "notifyringing", "notifyhold", "notifycid", "limitonpeers",
    "pedantic", "videosupport", "textsupport", "maxcallbitrate", "jbenable",
    "jbforce", "jbmaxsize", "jbresyncthreshold", "jbimpl", "jblog",
    "rtpholdtimeout", "rtpkeepalive", "directmedia", "canreinvite", "compactheaders",
    "progressinband", "trustrpid", "sendrpid", "autodomain", "domain",
    "allowexternaldomains", "fromdomain", "match_auth_username", "checkmwi",
    "vmexten", "preferred_codec_only", "autoframing", "mohinterpret",
    "mohsuggest", "parkinglot", "language", "tlsdontverifyserver", "tlscipher",
    "tlsclientmethod", "tcpauthtimeout", "tcpauthlimit", "websocket_enabled",
    "session-timers", "session-expires", "session-minse", "session-refresher",
    "t38pt_udptl", "subscribecontext", "allowsubscribe", "callcounter",
    "busylevel", "registerattempts", "registertimeout", "rtupdate",
    "rtsavesysname", "rtautoclear", "ignoreregexpire", "shrinkcallerid",
    "use_q850_reason", "storesipcause", "hash_peers", "hash_users",
    "hash_dialogs", "tlspolicy", "keepalive", "maxforwards", "send_diversion",
    "outboundproxy", "qualifygap", "qualifypeers", "buggymwi", "icesupport",
    "usereqphone", "contactpermit", "contactdeny", "contactacl", "alwaysauthreject_notice",
    "authfailureevents", "legacy_useroption_parsing", "regcontext", "regextenonqualify",
    "maxcontacts", "nat", "dtmfmode", "context",
    # read by res_sip_subscriptions (channels.sip.driver.subscriptions)
    "subminexpiry", "submaxexpiry", "subexpiry",
})


@dataclass(frozen=True)
class RegistrarSettings:
    """The registrar, authentication and qualify settings of C{[general]} (seconds)."""

    context: str = "default"
    allowguest: bool = True
    alwaysauthreject: bool = True
    realm: str = "asterisk"
    minexpiry: int = DEFAULT_MINEXPIRY
    maxexpiry: int = DEFAULT_MAXEXPIRY
    defaultexpiry: int = DEFAULT_DEFAULTEXPIRY
    qualifyfreq: int = DEFAULT_QUALIFYFREQ
    maxcontacts: int = DEFAULT_MAXCONTACTS
    rtptimeout: int = 0
    registertimeout: int = DEFAULT_REGISTERTIMEOUT
    registerattempts: int = 0
    rtcachefriends: bool = False
    acl: ACL = ACL()
    nonceLifetime: int = 30
    # The digest algorithms offered, one WWW-Authenticate each, in this
    # order (RFC 8760). MD5 alone by default, as Asterisk: many phones
    # (baresip, SIPp, older desk phones) give up on a SHA-256 challenge.
    authAlgorithms: tuple[str, ...] = ("MD5",)
    # Brute-force protection (authfailures, authfailurewindow, authblocktime,
    # authblockmax, authpermit): see pbxcore.guard.
    guard: GuardSettings = GuardSettings()


@dataclass
class Peer:
    """
    One peer or user of sip.conf (or a realtime row).

    C{host} is C{'dynamic'} (the address comes from REGISTER) or a host name
    or address; C{qualify} is None (not monitored) or the lag threshold in
    ms; C{allow} is the ordered codec list after allow/disallow.
    """

    name: str
    type: str = "friend"
    host: str = "dynamic"
    port: int | None = None
    defaultuser: str = ""
    secret: str = ""
    md5secret: str = ""
    context: str = "default"
    callerid: tuple[str, str] = ("", "")
    allow: list[str] = field(default_factory=lambda: list(DEFAULT_CODECS))
    callLimit: int = 0
    qualify: int | None = None
    qualifyfreq: int = DEFAULT_QUALIFYFREQ
    nat: frozenset = frozenset({"force_rport"})
    insecure: frozenset = frozenset()
    transports: list[str] = field(default_factory=lambda: ["udp"])
    dtmfmode: str = "rfc2833"
    acl: ACL = ACL()
    mailbox: str = ""
    subscribecontext: str = ""
    fromuser: str = ""
    fromdomain: str = ""
    language: str = ""
    accountcode: str = ""
    timeout: int = 0
    maxcontacts: int = DEFAULT_MAXCONTACTS
    # Media encryption and WebRTC (Asterisk's names; webrtc=yes sets the lot).
    avpf: bool = False
    icesupport: bool = False
    encryption: bool = False
    dtlsenable: bool = False
    dtlsverify: str = "fingerprint"
    dtlssetup: str = "actpass"
    dtlscertfile: str = ""
    dtlsprivatekey: str = ""
    rtcpMux: bool = False
    # Over maxcontacts: replace the oldest binding (chan_sip, pjsip's
    # remove_existing = yes) or refuse the REGISTER with 403 (no).
    removeExisting: bool = True
    authAlgorithms: tuple[str, ...] = ("MD5",)
    realtime: bool = False
    extra: dict = field(default_factory=dict)
    filename: str = ""
    line: int = 0

    @property
    def dynamic(self) -> bool:
        return self.host.lower() == "dynamic"

    @property
    def acceptsCalls(self) -> bool:
        """Whether the peer may call us (a user or a friend)."""
        return self.type in ("friend", "user")

    @property
    def isPeer(self) -> bool:
        """Whether we may call or register this peer (a peer or a friend)."""
        return self.type in ("friend", "peer")

    @property
    def authUser(self) -> str:
        """The user name a client authenticates with."""
        return self.defaultuser or self.name

    def hasSecret(self) -> bool:
        return bool(self.secret or self.md5secret)


@dataclass(frozen=True)
class Registration:
    """
    One C{register => [transport://]user[@domain][:secret[:authuser]]@host[:port][/contact][~expiry]}.
    """

    user: str
    host: str
    port: int | None = None
    secret: str = ""
    authuser: str = ""
    domain: str = ""
    transport: str = "udp"
    contact: str = "s"
    expiry: int | None = None
    peer: str = ""
    filename: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        """How the registration is named: C{host:port/user}."""
        port = f":{self.port}" if self.port else ""
        return f"{self.host}{port}/{self.user}"

    @property
    def domainOrHost(self) -> str:
        return self.domain or self.host


@dataclass
class SIPConfig:
    """The whole of sip.conf."""

    general: SIPGeneral
    settings: RegistrarSettings
    peers: dict[str, Peer]
    registrations: list[Registration]
    warnings: list[str] = field(default_factory=list)
    defaults: Peer | None = None

    def peer(self, name: str) -> Peer | None:
        return self.peers.get(name.lower())


def _error(entry: Entry, message: str) -> ConfigError:
    return ConfigError(message, entry.filename, entry.line)


def _bool(entry: Entry) -> bool:
    if isTrue(entry.value):
        return True
    if isFalse(entry.value):
        return False
    raise _error(entry, f"{entry.key}: expected yes or no, got {entry.value!r}")


def _int(entry: Entry, minimum: int = 0, maximum: int | None = None) -> int:
    text = entry.value.strip()
    if not text.isdigit():
        raise _error(entry, f"{entry.key}: expected a whole number, got {entry.value!r}")
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise _error(entry, f"{entry.key}: {value} must be {bound}")
    return value


def _options(entry: Entry, allowed: Iterable[str]) -> frozenset:
    """A comma list of option names; yes/no map to all or none."""
    allowed = frozenset(allowed)
    text = entry.value.strip().lower()
    if isFalse(text) or text == "never":
        return frozenset()
    words = [w.strip() for w in text.split(",") if w.strip()]
    out = set()
    for word in words:
        if isTrue(word):
            out |= {"force_rport", "comedia"} if "comedia" in allowed else set(allowed)
        elif word == "very":
            out |= {"port", "invite"}
        elif word in allowed:
            out.add(word)
        else:
            raise _error(entry, f"{entry.key}: unknown option {word!r} (expected {', '.join(sorted(allowed))})")
    return frozenset(out)


def applyCodecs(current: list[str], entry: Entry) -> list[str]:
    """Apply one C{allow} or C{disallow} line to the ordered codec list."""
    allow = entry.key.strip().lower() == "allow"
    out = list(current)
    for word in entry.value.replace("&", ",").split(","):
        name = word.strip().lower()
        if not name:
            continue
        if name.startswith("!"):
            name, allowThis = name[1:], not allow
        else:
            allowThis = allow
        name = name.split(":", 1)[0]  # allow=ulaw:20 (framing)
        if name == "all":
            out = list(KNOWN_CODECS) if allowThis else []
            continue
        if name not in KNOWN_CODECS:
            raise _error(entry, f"{entry.key}: unknown codec {name!r}")
        if name in out:
            out.remove(name)
        if allowThis:
            out.append(name)
    return out


def parseCallerID(text: str) -> tuple[str, str]:
    """C{"Name" <number>}, C{Name <number>} or a bare number."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        return name.strip().strip('"').strip(), number.strip()
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1], ""
    if text and all(c.isdigit() or c in "+*#" for c in text):
        return "", text
    return text, ""


def _qualify(entry: Entry) -> int | None:
    text = entry.value.strip().lower()
    if isTrue(text):
        return DEFAULT_QUALIFY_MS
    if isFalse(text):
        return None
    if text.isdigit():
        ms = int(text)
        return ms or None
    raise _error(entry, f"qualify: expected yes, no or milliseconds, got {entry.value!r}")


def _transports(entry: Entry) -> list[str]:
    out: list[str] = []
    for word in entry.value.split(","):
        word = word.strip().lower()
        if not word:
            continue
        if word not in TRANSPORTS:
            raise _error(entry, f"transport: unknown transport {word!r} (expected udp, tcp, tls, ws or wss)")
        if word not in out:
            out.append(word)
    if not out:
        raise _error(entry, "transport: empty list")
    return out


def _applyPeerEntry(peer: Peer, entry: Entry, aclRules: list, warnings: list[str]) -> None:
    key = entry.key.strip().lower()
    value = entry.value.strip()
    if key == "type":
        kind = value.lower()
        if kind not in PEER_TYPES:
            raise _error(entry, f"type: expected friend, peer or user, got {entry.value!r}")
        peer.type = kind
    elif key == "host":
        if not value:
            raise _error(entry, "host: empty value (use dynamic or an address)")
        host, port = _splitHostPort(entry, value)
        peer.host = "dynamic" if host.lower() == "dynamic" else host
        if port is not None:
            peer.port = port
    elif key == "port":
        peer.port = _int(entry, 1, 65535)
    elif key == "defaultuser":
        peer.defaultuser = value
    elif key == "secret":
        peer.secret = entry.value
    elif key == "md5secret":
        text = value.lower()
        if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
            raise _error(entry, "md5secret: expected 32 hexadecimal digits (md5 of user:realm:secret)")
        peer.md5secret = text
    elif key == "context":
        if not value:
            raise _error(entry, "context: empty value")
        peer.context = value
    elif key == "callerid":
        peer.callerid = parseCallerID(value)
    elif key in ("allow", "disallow"):
        peer.allow = applyCodecs(peer.allow, entry)
    elif key in ("call-limit", "calllimit"):
        peer.callLimit = _int(entry)
    elif key == "qualify":
        peer.qualify = _qualify(entry)
    elif key == "qualifyfreq":
        peer.qualifyfreq = _int(entry, 1, 86400)
    elif key == "nat":
        peer.nat = _options(entry, NAT_OPTIONS)
    elif key == "insecure":
        peer.insecure = _options(entry, INSECURE_OPTIONS)
    elif key == "transport":
        peer.transports = _transports(entry)
    elif key == "dtmfmode":
        mode = value.lower()
        if mode not in DTMF_MODES:
            raise _error(entry, f"dtmfmode: expected one of {', '.join(DTMF_MODES)}, got {entry.value!r}")
        peer.dtmfmode = mode
    elif key in ("permit", "deny"):
        try:
            aclRules.append(parseACLRule(key == "permit", value))
        except ValueError as e:
            raise _error(entry, f"{key}: {e}") from None
    elif key == "mailbox":
        peer.mailbox = value
    elif key == "subscribecontext":
        peer.subscribecontext = value
    elif key == "fromuser":
        peer.fromuser = value
    elif key == "fromdomain":
        peer.fromdomain = value
    elif key == "language":
        peer.language = value
    elif key == "accountcode":
        peer.accountcode = value
    elif key == "timeout":
        peer.timeout = _int(entry)
    elif key == "maxcontacts":
        peer.maxcontacts = _int(entry, 1, 100)
    elif key in _MEDIA_KEYS:
        _applyMediaEntry(peer, key, entry)
    elif key in ("remove_existing", "removeexisting", "authalgorithms"):
        _applyAuthEntry(peer, key, entry)
    elif key in PASSIVE_PEER_KEYS:
        peer.extra.setdefault(key, []).append(value)
    else:
        warnings.append(f"{entry.filename}:{entry.line}: unknown key {entry.key!r} in [{peer.name}] ignored")


_MEDIA_KEYS = frozenset({"avpf", "icesupport", "encryption", "dtlsenable", "dtlsverify",
                         "dtlssetup", "dtlscertfile", "dtlsprivatekey", "rtcp_mux", "webrtc"})


def _applyMediaEntry(peer: Peer, key: str, entry: Entry) -> None:
    """The media encryption and WebRTC keys of a peer."""
    value = entry.value.strip()
    if key in ("avpf", "icesupport", "encryption", "dtlsenable"):
        setattr(peer, key, _bool(entry))
    elif key == "rtcp_mux":
        peer.rtcpMux = _bool(entry)
    elif key == "dtlsverify":
        if value.lower() not in DTLS_VERIFY:
            raise _error(entry, f"dtlsverify: expected one of {', '.join(DTLS_VERIFY)}, got {value!r}")
        peer.dtlsverify = value.lower()
    elif key == "dtlssetup":
        if value.lower() not in DTLS_SETUP:
            raise _error(entry, f"dtlssetup: expected one of {', '.join(DTLS_SETUP)}, got {value!r}")
        peer.dtlssetup = value.lower()
    elif key == "dtlscertfile":
        peer.dtlscertfile = value
    elif key == "dtlsprivatekey":
        peer.dtlsprivatekey = value
    elif key == "webrtc" and _bool(entry):
        # As pjsip's webrtc=yes: AVPF, ICE, DTLS-SRTP required, rtcp-mux.
        peer.avpf = peer.icesupport = peer.encryption = peer.dtlsenable = peer.rtcpMux = True
        peer.dtlsverify = "fingerprint"
        peer.dtlssetup = "actpass"


def _applyAuthEntry(peer: Peer, key: str, entry: Entry) -> None:
    """The registrar and digest keys of a peer: remove_existing, authalgorithms."""
    if key == "authalgorithms":
        peer.authAlgorithms = _algorithms(entry)
    else:
        peer.removeExisting = _bool(entry)


def _algorithms(entry: Entry) -> tuple[str, ...]:
    """C{authalgorithms = sha-256,md5}: the digest algorithms offered, in order."""
    names = []
    for word in entry.value.split(","):
        name = word.strip().upper()
        if not name:
            continue
        if name not in ("SHA-256", "MD5"):
            raise _error(entry, f"authalgorithms: unknown algorithm {word.strip()!r} (expected sha-256, md5)")
        if name not in names:
            names.append(name)
    if not names:
        raise _error(entry, "authalgorithms: empty list")
    return tuple(names)


def _splitHostPort(entry: Entry, value: str) -> tuple[str, int | None]:
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise _error(entry, f"{entry.key}: unterminated '['")
        host, rest = value[1:end], value[end + 1:]
    elif value.count(":") == 1:
        host, rest = value.split(":")
        rest = ":" + rest
    else:
        host, rest = value, ""
    port = None
    if rest:
        if not rest.startswith(":") or not rest[1:].isdigit() or not 0 < int(rest[1:]) < 65536:
            raise _error(entry, f"{entry.key}: bad port in {value!r}")
        port = int(rest[1:])
    if not host:
        raise _error(entry, f"{entry.key}: empty host")
    return host, port


def buildPeer(name: str, entries: Iterable[Entry], defaults: Peer | None = None, filename: str = "", line: int = 0) -> tuple[Peer, list[str]]:
    """
    A L{Peer} called C{name} from C{entries} over C{defaults} (the
    C{[general]} defaults); returns the peer and the warnings.
    """
    base = defaults if defaults is not None else Peer(name="")
    peer = dataclasses.replace(base, name=name, allow=list(base.allow), transports=list(base.transports),
                               extra={}, filename=filename, line=line)
    warnings: list[str] = []
    rules: list = []
    for entry in entries:
        _applyPeerEntry(peer, entry, rules, warnings)
    if rules:
        peer.acl = ACL(tuple(rules))
    return peer, warnings


def parseRegisterLine(entry: Entry) -> Registration:
    """Parse a C{register =>} value; raise ConfigError on a malformed one."""
    text = entry.value.strip()
    if not text:
        raise _error(entry, "register: empty value")
    peerName = ""
    if "?" in text.split("@", 1)[0]:
        peerName, _, text = text.partition("?")
    transport = "udp"
    if "://" in text:
        transport, _, text = text.partition("://")
        transport = transport.lower()
        if transport not in ("udp", "tcp", "tls"):
            raise _error(entry, f"register: unknown transport {transport!r}")
    expiry = None
    if "~" in text:
        text, _, expText = text.rpartition("~")
        if not expText.isdigit() or int(expText) < 1:
            raise _error(entry, f"register: bad expiry {expText!r}")
        expiry = int(expText)
    left, at, right = text.rpartition("@")
    if not at or not left or not right:
        raise _error(entry, "register: expected user[:secret[:authuser]]@host[:port][/contact]")
    hostPart, slash, contact = right.partition("/")
    host, colon, portText = hostPart.partition(":")
    if not host:
        raise _error(entry, "register: empty host")
    port = None
    if colon:
        if not portText.isdigit() or not 0 < int(portText) < 65536:
            raise _error(entry, f"register: bad port {portText!r}")
        port = int(portText)
    userPart, _, rest = left.partition(":")
    secret, _, authuser = rest.partition(":")
    user, _, domain = userPart.partition("@")
    if not user:
        raise _error(entry, "register: empty user")
    return Registration(user=user, host=host, port=port, secret=secret, authuser=authuser,
                        domain=domain, transport=transport, contact=contact or "s",
                        expiry=expiry, peer=peerName, filename=entry.filename, line=entry.line)


def _parseSettings(section, general, warnings: list[str], defaults: Peer) -> tuple[RegistrarSettings, list[Registration], Peer]:
    """
    The rest of [general] once L{parseGeneral} took the transport keys
    (C{general.rest}): registrar settings, register lines, peer defaults.
    """
    values: dict = {}
    registrations: list[Registration] = []
    rules: list = []
    guardValues: dict = {}
    for entry in general.rest:
        key = entry.key.strip().lower()
        value = entry.value.strip()
        if key == "context":
            if not value:
                raise _error(entry, "context: empty value")
            values["context"] = value
            defaults.context = value
        elif key in ("allowguest", "alwaysauthreject", "rtcachefriends"):
            values[key] = _bool(entry)
        elif key == "realm":
            if value:
                values["realm"] = value
        elif key in ("minexpiry", "maxexpiry", "defaultexpiry"):
            values[key] = _int(entry, 1)
        elif key == "qualifyfreq":
            values["qualifyfreq"] = _int(entry, 1, 86400)
            defaults.qualifyfreq = values["qualifyfreq"]
        elif key == "maxcontacts":
            values["maxcontacts"] = _int(entry, 1, 100)
            defaults.maxcontacts = values["maxcontacts"]
        elif key == "rtptimeout":
            values["rtptimeout"] = _int(entry)
        elif key == "registertimeout":
            values["registertimeout"] = _int(entry, 1)
        elif key == "registerattempts":
            values["registerattempts"] = _int(entry)
        elif key == "authalgorithms":
            values["authAlgorithms"] = defaults.authAlgorithms = _algorithms(entry)
        elif key in ("remove_existing", "removeexisting"):
            defaults.removeExisting = _bool(entry)
        elif key == "noncelifetime":
            values["nonceLifetime"] = _int(entry, 1)
        elif key in GUARD_KEYS:
            try:
                parseGuardKey(guardValues, key, value)
            except ValueError as e:
                raise _error(entry, str(e)) from None
        elif key == "register":
            registrations.append(parseRegisterLine(entry))
        elif key in ("permit", "deny"):
            try:
                rules.append(parseACLRule(key == "permit", value))
            except ValueError as e:
                raise _error(entry, f"{key}: {e}") from None
        elif key in ("allow", "disallow"):
            defaults.allow = applyCodecs(defaults.allow, entry)
        elif key == "nat":
            defaults.nat = _options(entry, NAT_OPTIONS)
        elif key == "dtmfmode":
            _applyPeerEntry(defaults, entry, [], warnings)
        elif key == "language":
            defaults.language = value
        elif key == "qualify":
            defaults.qualify = _qualify(entry)
        elif key == "transport":
            defaults.transports = _transports(entry)
        elif key in PASSIVE_GENERAL_KEYS:
            continue
        else:
            warnings.append(f"{entry.filename}:{entry.line}: unknown key {entry.key!r} in [general] ignored")
    if rules:
        values["acl"] = ACL(tuple(rules))
    if guardValues:
        values["guard"] = GuardSettings(**guardValues)
    settings = RegistrarSettings(**values)
    if settings.minexpiry > settings.maxexpiry:
        where = section.entry("minexpiry") or section.entry("maxexpiry")
        raise _error(where, f"minexpiry ({settings.minexpiry}) is above maxexpiry ({settings.maxexpiry})")
    return settings, registrations, defaults


def parseSIPConf(config) -> SIPConfig:
    """
    Read a parsed sip.conf: C{[general]} (transports via
    L{channels.sip.driver.config.parseGeneral}), every peer and user section, and
    the register lines. Section names are matched without case.
    """
    general = parseGeneral(config)
    warnings: list[str] = []
    defaults = Peer(name="")
    section = config.section("general") if config is not None else None
    settings, registrations, defaults = _parseSettings(section, general, warnings, defaults)
    peers: dict[str, Peer] = {}
    for sec in config.sections if config is not None else ():
        lowered = sec.name.lower()
        if lowered == "general":
            continue
        if lowered == "authentication":
            continue
        if lowered in peers:
            first = peers[lowered]
            raise ConfigError(f"[{sec.name}] is already defined at {first.filename}:{first.line}", sec.filename, sec.line)
        if not any(e.key.strip().lower() == "type" for e in sec.entries):
            raise ConfigError(f"[{sec.name}] has no type= (friend, peer or user)", sec.filename, sec.line)
        peer, peerWarnings = buildPeer(sec.name, sec.entries, defaults, sec.filename, sec.line)
        warnings.extend(peerWarnings)
        if peer.type == "peer" and peer.dynamic and not peer.hasSecret():
            warnings.append(f"{sec.filename}:{sec.line}: [{sec.name}] is a dynamic peer without a secret; nobody can register it")
        peers[lowered] = peer
    for registration in registrations:
        if registration.peer and registration.peer.lower() not in peers:
            warnings.append(f"{registration.filename}:{registration.line}: register names unknown peer {registration.peer!r}")
    return SIPConfig(general, settings, peers, registrations, warnings, defaults)


# -- realtime ---------------------------------------------------------------

# The sippeers columns Asterisk's realtime uses that map onto sip.conf keys;
# the rest (ipaddr, port, regseconds, fullcontact, ...) describe the binding.
REALTIME_KEYS = (
    "type", "host", "defaultuser", "secret", "md5secret", "context", "callerid",
    "disallow", "allow", "call-limit", "qualify", "nat", "insecure", "transport",
    "dtmfmode", "permit", "deny", "mailbox", "subscribecontext", "fromuser",
    "fromdomain", "language", "accountcode", "maxcontacts", "avpf", "icesupport",
    "encryption", "dtlsenable", "dtlsverify", "dtlssetup", "rtcp_mux", "webrtc",
    "fromdomain", "language", "accountcode", "maxcontacts", "authalgorithms",
)


def peerFromRow(row: dict, defaults: Peer | None, source: str = "realtime") -> Peer:
    """
    A L{Peer} from a realtime C{sippeers} row (column -> value); empty
    columns are skipped. Raise ConfigError (file is C{source}) on a bad value.
    """
    name = str(row.get("name") or "").strip()
    if not name:
        raise ConfigError("sippeers row without a name", source)
    entries = []
    for key in REALTIME_KEYS:
        value = row.get(key)
        if value is None or str(value).strip() == "":
            continue
        if key in ("permit", "deny"):
            for part in str(value).split(";"):
                if part.strip():
                    entries.append(Entry(key, part.strip(), f"{source}:{name}", 0))
            continue
        entries.append(Entry(key, str(value), f"{source}:{name}", 0))
    if not any(e.key == "type" for e in entries):
        entries.insert(0, Entry("type", "friend", source, 0))
    peer, _ = buildPeer(name, entries, defaults, source, 0)
    peer.realtime = True
    return peer
