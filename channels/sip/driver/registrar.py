"""
The registrar and location service (RFC 3261 §10.3).

Three layers:

  - L{processRegister} is pure: a REGISTER, the peer's current bindings,
    the registrar settings and C{now} go in; the status, headers and new
    binding list come out. It answers queries (no Contact), C{Contact: *}
    with C{Expires: 0} (anything else with C{*} is a 400), C{minexpiry}
    (423 with Min-Expires), C{maxexpiry}, C{defaultexpiry}, Call-ID/CSeq
    ordering and the per-peer contact limit (C{maxcontacts}: a new
    contact over it replaces the binding nearest its expiry, as chan_sip
    and pjsip's C{remove_existing}; with C{remove_existing = no}, 403).
  - L{LocationService} keeps the bindings in memory (C{contacts(peer)}),
    mirrors every change to a L{BindingStore} and knows the next expiry.
  - L{BindingStore} is the SQLite file under the PBX's data directory
    (C{sip_registrations.sqlite3}: tables C{sip_bindings} and the realtime
    C{sippeers}). Writes go through one writer thread, batched, so the
    reactor never waits for the disk; bindings are read back at start, so
    they survive a restart.

L{Registrar} is the REGISTER method handler tying them to the user agent:
authentication (L{channels.sip.driver.security.Authenticator}), then the pure
decision, then the store. Other code reads bindings through
C{stack.location.contacts(peerName)}.
"""

from __future__ import annotations

import heapq
import os
import sqlite3
import sys
from dataclasses import dataclass, replace
from email.utils import formatdate

from twisted.logger import Logger

from channels.sip.net.address import Address
from channels.sip.wire.message import SIPParseError

__all__ = [
    "Binding", "RegisterOutcome", "processRegister", "httpDate", "LocationService",
    "BindingStore", "Registrar", "STORE_FILENAME",
]

STORE_FILENAME = "sip_registrations.sqlite3"


@dataclass(frozen=True, slots=True)
class Binding:
    """
    One registered contact of a peer. C{expires} is absolute (the clock's
    seconds since the epoch); C{source} is where the REGISTER came from
    (where a NAT'ed phone is reached). Slotted: a registrar holds one per
    registered phone.
    """

    peer: str
    uri: str
    expires: float
    source: Address | None = None
    userAgent: str = ""
    path: tuple[str, ...] = ()
    callId: str = ""
    cseq: int = 0
    q: float | None = None
    registeredAt: float = 0.0

    def expiresIn(self, now: float) -> int:
        return max(0, int(round(self.expires - now)))

    def contactValue(self, now: float) -> str:
        """The Contact value a 200 OK lists: C{<uri>;expires=N}."""
        q = f";q={self.q:g}" if self.q is not None else ""
        return f"<{self.uri}>;expires={self.expiresIn(now)}{q}"


@dataclass(frozen=True)
class RegisterOutcome:
    """What to answer, and the peer's bindings afterwards (None = unchanged)."""

    status: int
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    bindings: tuple[Binding, ...] | None = None


def httpDate(now: float) -> str:
    """The RFC 1123 date of C{now} that a Date header carries."""
    return formatdate(now, usegmt=True)


def _expiryOf(contact, headerExpires, settings) -> int:
    value = contact.expires
    if value is None:
        value = headerExpires
    if value is None:
        value = settings.defaultexpiry
    return value


def processRegister(request, peerName: str, current, settings, now: float, source=None, maxContacts: int | None = None,
                    date: str | None = None, removeExisting: bool = True) -> RegisterOutcome:
    """
    Decide a REGISTER for C{peerName} (already authenticated) against its
    C{current} bindings. C{settings} is a L{channels.sip.driver.peers.RegistrarSettings}.
    C{date} is the Date header's value for C{now} when the caller has it
    already (see L{httpDate}). Over C{maxContacts}, C{removeExisting}
    drops the other bindings nearest their expiry (a phone that rebooted
    onto a new port is served at once); otherwise the REGISTER gets 403.
    """
    current = tuple(b for b in current if b.expires > now)
    try:
        contacts = request.contacts
        headerExpires = request.expires
    except SIPParseError as e:
        return RegisterOutcome(400, e.reason or "Bad Request")
    callId = request.callId or ""
    cseq = request.cseq.number if request.cseq is not None else 0
    dateHeader = ("Date", date if date is not None else httpDate(now))

    def ok(bindings):
        headers = [("Contact", b.contactValue(now)) for b in bindings]
        headers.append(dateHeader)
        return RegisterOutcome(200, "OK", tuple(headers), tuple(bindings))

    if not contacts:
        result = ok(current)
        return replace(result, bindings=None)

    if contacts[0].wildcard:
        if len(contacts) != 1 or headerExpires != 0:
            return RegisterOutcome(400, "Invalid Contact *")
        for binding in current:
            if binding.callId == callId and binding.cseq >= cseq:
                return RegisterOutcome(500, "Out Of Order CSeq")
        return ok(())

    limit = maxContacts if maxContacts is not None else settings.maxcontacts
    bindings = {b.uri: b for b in current}
    # Phones of one model share one User-Agent string among their bindings.
    userAgent = sys.intern(request.headers.get("User-Agent") or "")
    path = tuple(request.headers.getall("Path"))
    for contact in contacts:
        if contact.uri is None:
            return RegisterOutcome(400, "Bad Contact")
        try:
            expires = _expiryOf(contact, headerExpires, settings)
            q = contact.q
        except SIPParseError as e:
            return RegisterOutcome(400, e.reason or "Bad Contact")
        if expires != 0 and expires < settings.minexpiry:
            return RegisterOutcome(423, "Interval Too Brief", (("Min-Expires", str(settings.minexpiry)),))
        expires = min(expires, settings.maxexpiry)
        uri = str(contact.uri)
        existing = bindings.get(uri)
        if existing is not None and existing.callId == callId and existing.cseq >= cseq:
            return RegisterOutcome(500, "Out Of Order CSeq")
        if expires == 0:
            bindings.pop(uri, None)
        else:
            bindings[uri] = Binding(peerName, uri, now + expires, source, userAgent, path, callId, cseq, q,
                                    existing.registeredAt if existing is not None else now)
    if len(bindings) > limit and removeExisting:
        _removeExisting(bindings, limit, {str(c.uri) for c in contacts})
    if len(bindings) > limit:
        return RegisterOutcome(403, "Too Many Contacts")
    if len(bindings) < 2:
        return ok(list(bindings.values()))
    ordered = sorted(bindings.values(), key=lambda b: (-(b.q if b.q is not None else 1.0), -b.expires))
    return ok(ordered)


def _removeExisting(bindings: dict, limit: int, fresh: set) -> None:
    """Drop bindings not named by this REGISTER, nearest expiry (then oldest) first, down to C{limit}."""
    others = sorted((b for uri, b in bindings.items() if uri not in fresh),
                    key=lambda b: (b.expires, b.registeredAt))
    for binding in others[:max(0, len(bindings) - limit)]:
        del bindings[binding.uri]


# -- the store ------------------------------------------------------------------

REALTIME_COLUMNS = (
    "name", "type", "host", "defaultuser", "secret", "md5secret", "context",
    "callerid", "disallow", "allow", "call-limit", "qualify", "nat", "insecure",
    "transport", "dtmfmode", "permit", "deny", "mailbox", "subscribecontext",
    "fromuser", "fromdomain", "language", "accountcode", "maxcontacts",
    "ipaddr", "port", "regseconds", "fullcontact", "useragent", "regserver",
    "lastms",
)


def _quoteColumn(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_BINDING_COLUMNS = ("peer, uri, expires, transport, host, port, useragent, path, "
                    "callid, cseq, q, registered")
_ROW_PLACEHOLDERS = "(" + ", ".join("?" * 12) + ")"

#: Rows per multi-row INSERT: powers of two (few distinct statements for
#: the connection's statement cache), at most 64 rows of 12 values (under
#: SQLite's historical limit of 999 parameters).
_MAX_CHUNK = 64


def _chunkSize(remaining: int) -> int:
    size = _MAX_CHUNK
    while size > remaining:
        size //= 2
    return size


_INSERTS = {
    rows: f"INSERT OR REPLACE INTO sip_bindings ({_BINDING_COLUMNS}) VALUES " + ", ".join([_ROW_PLACEHOLDERS] * rows)
    for rows in (1, 2, 4, 8, 16, 32, 64)
}


def _row(binding: Binding) -> tuple:
    source = binding.source
    if source is None:
        transport = host = port = None
    else:
        transport, host, port = source.transport, source.host, source.port
    return (binding.peer, binding.uri, binding.expires, transport, host, port, binding.userAgent,
            "\n".join(binding.path), binding.callId, binding.cseq, binding.q, binding.registeredAt)


class BindingStore:
    """
    The registrations file. C{open} creates it (and the realtime
    C{sippeers} table) and returns the stored bindings. Changes collect
    during a reactor turn (the last one per binding wins) and go to the
    writer thread together at the next; C{flush} and C{close} hand over
    what is pending at once, and C{close} drains the queue.
    """

    log = Logger()

    def __init__(self, path: str | None, reactor=None):
        self.path = path
        self._reactor = reactor
        self._writer = None
        self._reader = None
        self._pending: dict[tuple[str, str], Binding | None] = {}
        self._pushCall = None

    def open(self) -> list[Binding]:
        from pbxcore.store.astdb import SQLiteWriter

        if self.path is None:
            return []
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level="DEFERRED")
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            with connection:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS sip_bindings ("
                    "peer TEXT NOT NULL, uri TEXT NOT NULL, expires REAL NOT NULL, "
                    "transport TEXT, host TEXT, port INTEGER, useragent TEXT, path TEXT, "
                    "callid TEXT, cseq INTEGER, q REAL, registered REAL, "
                    "PRIMARY KEY (peer, uri))")
                columns = ", ".join(f"{_quoteColumn(c)} TEXT" + (" PRIMARY KEY" if c == "name" else "")
                                    for c in REALTIME_COLUMNS)
                connection.execute(f"CREATE TABLE IF NOT EXISTS sippeers ({columns})")
            rows = connection.execute(
                "SELECT peer, uri, expires, transport, host, port, useragent, path, callid, cseq, q, registered "
                "FROM sip_bindings").fetchall()
        except sqlite3.Error:
            connection.close()
            raise
        self._writer = SQLiteWriter(connection, "sip_registrations", self._reactor)
        self._reader = sqlite3.connect(self.path, check_same_thread=False)
        self._reader.row_factory = sqlite3.Row
        out = []
        for peer, uri, expires, transport, host, port, ua, path, callId, cseq, q, registered in rows:
            source = Address(transport, host, int(port)) if transport and host and port is not None else None
            out.append(Binding(peer, uri, float(expires), source, ua or "", tuple(p for p in (path or "").split("\n") if p),
                               callId or "", int(cseq or 0), q, float(registered or 0.0)))
        return out

    def save(self, binding: Binding) -> None:
        """Queue C{binding} to be written (replacing the row of its peer and URI)."""
        if self._writer is not None:
            self._pending[(binding.peer, binding.uri)] = binding
            self._schedule()

    def delete(self, peer: str, uri: str) -> None:
        """Queue the removal of the row of C{peer} and C{uri}."""
        if self._writer is not None:
            self._pending[(peer, uri)] = None
            self._schedule()

    def _schedule(self) -> None:
        if self._pushCall is None:
            if self._reactor is None:
                from twisted.internet import reactor

                self._reactor = reactor
            self._pushCall = self._reactor.callLater(0, self._push)

    def _push(self) -> None:
        """
        Hand the changes of this reactor turn to the writer thread: only
        the last change of each binding, saves as multi-row statements. A
        busy registrar handles hundreds of REGISTERs per turn, and the
        writer's cost is per statement and per commit far more than per row.
        """
        call, self._pushCall = self._pushCall, None
        if call is not None and call.active():
            call.cancel()
        pending, self._pending = self._pending, {}
        writer = self._writer
        if writer is None or not pending:
            return
        rows = []
        for (peer, uri), binding in pending.items():
            if binding is None:
                writer.execute("DELETE FROM sip_bindings WHERE peer = ? AND uri = ?", (peer, uri))
            else:
                rows.append(_row(binding))
        start, count = 0, len(rows)
        while start < count:
            size = _chunkSize(count - start)
            params = []
            for row in rows[start:start + size]:
                params.extend(row)
            writer.execute(_INSERTS[size], params)
            start += size

    def realtimePeer(self, name: str) -> dict | None:
        """
        The C{sippeers} row called C{name}, or None. A primary-key read on a
        local WAL file: microseconds, so it is done in line.
        """
        if self._reader is None:
            return None
        try:
            row = self._reader.execute("SELECT * FROM sippeers WHERE name = ?", (name,)).fetchone()
        except sqlite3.Error as e:
            self.log.warn("realtime sippeers lookup of {name} failed: {error}", name=name, error=str(e))
            return None
        return dict(row) if row is not None else None

    def realtimeNames(self) -> list[str]:
        if self._reader is None:
            return []
        try:
            return [r[0] for r in self._reader.execute("SELECT name FROM sippeers ORDER BY name")]
        except sqlite3.Error:
            return []

    def flush(self):
        from twisted.internet.defer import succeed

        self._push()
        return self._writer.flush() if self._writer is not None else succeed(None)

    def close(self):
        from twisted.internet.defer import succeed

        self._push()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        writer, self._writer = self._writer, None
        return writer.close() if writer is not None else succeed(None)


# -- the location service ---------------------------------------------------------

class LocationService:
    """
    Bindings per peer, in memory, mirrored to a L{BindingStore}. Peer names
    are kept as given; lookups ignore case.
    """

    def __init__(self, store: BindingStore | None = None):
        self.store = store
        self._bindings: dict[str, tuple[Binding, ...]] = {}
        self._names: dict[str, str] = {}
        self._heap: list[tuple[float, str, str]] = []

    def load(self, bindings, now: float) -> list[Binding]:
        """Take bindings read from the store; drop (and delete) expired ones."""
        expired = []
        grouped: dict[str, list[Binding]] = {}
        for binding in bindings:
            if binding.expires <= now:
                expired.append(binding)
                continue
            grouped.setdefault(binding.peer, []).append(binding)
        for peer, items in grouped.items():
            self._set(peer, tuple(items))
        for binding in expired:
            if self.store is not None:
                self.store.delete(binding.peer, binding.uri)
        return expired

    def _set(self, peer: str, bindings: tuple[Binding, ...]) -> None:
        key = peer.lower()
        if key == peer:
            key = peer  # one string, not two, for the usual lower-case name
        if bindings:
            self._bindings[key] = bindings
            self._names[key] = peer
            for b in bindings:
                heapq.heappush(self._heap, (b.expires, key, b.uri))
        else:
            self._bindings.pop(key, None)
            self._names.pop(key, None)

    def contacts(self, peerName: str, now: float | None = None) -> list[Binding]:
        """The live bindings of C{peerName} (all stored ones when C{now} is None)."""
        bindings = self._bindings.get(peerName.lower(), ())
        if now is None:
            return list(bindings)
        return [b for b in bindings if b.expires > now]

    def isRegistered(self, peerName: str, now: float | None = None) -> bool:
        return bool(self.contacts(peerName, now))

    def peers(self) -> list[str]:
        return sorted(self._names.values(), key=str.lower)

    def __len__(self) -> int:
        return sum(len(b) for b in self._bindings.values())

    def replace(self, peer: str, bindings) -> tuple[list[Binding], list[Binding]]:
        """Make C{bindings} the peer's; return (added or changed, removed)."""
        bindings = tuple(bindings)
        old = {b.uri: b for b in self._bindings.get(peer.lower(), ())}
        new = {b.uri: b for b in bindings}
        changed = [b for uri, b in new.items() if old.get(uri) != b]
        removed = [b for uri, b in old.items() if uri not in new]
        self._set(peer, bindings)
        if self.store is not None:
            for b in changed:
                self.store.save(b)
            for b in removed:
                self.store.delete(b.peer, b.uri)
        return changed, removed

    def nextExpiry(self) -> float | None:
        """When the next binding expires (stale heap entries are dropped)."""
        heap = self._heap
        while heap:
            expires, key, uri = heap[0]
            live = self._bindings.get(key, ())
            if any(b.uri == uri and b.expires == expires for b in live):
                return expires
            heapq.heappop(heap)
        return None

    def expire(self, now: float) -> dict[str, list[Binding]]:
        """Remove bindings that expired by C{now}; return them by peer name."""
        gone: dict[str, list[Binding]] = {}
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, key, _ = heapq.heappop(heap)
            live = self._bindings.get(key)
            if not live:
                continue
            keep = tuple(b for b in live if b.expires > now)
            if len(keep) != len(live):
                peer = self._names[key]
                removed = [b for b in live if b.expires <= now]
                gone.setdefault(peer, []).extend(removed)
                self._set(peer, keep)
                if self.store is not None:
                    for b in removed:
                        self.store.delete(b.peer, b.uri)
        return gone

    def clear(self, peer: str) -> list[Binding]:
        _, removed = self.replace(peer, ())
        return removed


# -- the REGISTER handler -----------------------------------------------------------

class Registrar:
    """
    Answers REGISTER: identifies the peer by the To user, authenticates it
    through C{peers.auth}, decides with L{processRegister} and records the
    result in C{peers.location}. C{peers} is the
    L{channels.sip.driver.peerservice.PeerService}.
    """

    log = Logger()

    def __init__(self, peers):
        self.peers = peers
        self.counts = {"registered": 0, "refused": 0}
        self._date = (None, "")  # (whole second, its Date header value)

    def _dateOf(self, now: float) -> str:
        """The Date header value of C{now}, formatted once per second."""
        second = int(now)
        if self._date[0] != second:
            self._date = (second, httpDate(second))
        return self._date[1]

    def __call__(self, request, st):
        self.handleRegister(request, st)

    def handleRegister(self, request, st):
        peers = self.peers
        ua = peers.stack.userAgent
        to = request.toAddr
        uri = getattr(to, "uri", None)
        if uri is None or uri.scheme.lower() not in ("sip", "sips"):
            ua.respond(st, request, 400, "To Is Not a SIP URI")
            return
        peers.forceRport(request, st.source)
        user = uri.unescapedUser or ""
        hint = peers.peerFor(user) if user else None
        peer = peers.auth.authenticateRequest(request, st, peerHint=hint, expectedUser=user)
        if peer is None:
            self.counts["refused"] += 1
            return
        if not peer.dynamic:
            self.log.info("REGISTER for {peer} refused: host is not dynamic", peer=peer.name)
            ua.respond(st, request, 403, "Forbidden")
            return
        now = peers.now()
        current = peers.location.contacts(peer.name)
        outcome = processRegister(request, peer.name, current, peers.config.settings, now,
                                  st.source, maxContacts=peer.maxcontacts, date=self._dateOf(now),
                                  removeExisting=peer.removeExisting)
        if outcome.bindings is not None:
            peers.bindingsChanged(peer, outcome.bindings)
            self.counts["registered"] += 1
        ua.respond(st, request, outcome.status, outcome.reason, outcome.headers)

