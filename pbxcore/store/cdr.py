"""
Call detail records.

L{CDRBuilder} is pure: it reads core events (Newchannel, Newstate,
NewCallerid, NewExten, DialBegin, DialEnd, BridgeEnter, BridgeLeave,
Hangup) with their timestamps and hands back finished L{CDRRecord}s, one
per call leg as Asterisk counts them: the calling party owns the record and
the party it dialed appears as its C{dstchannel}; a channel that was only
ever dialed (the called phone, the ;1 half of a Local channel) gets no
record of its own, while a channel that runs dialplan does.

L{CDREngine} is the shell: it feeds the builder from the PBX's event bus,
publishes the C{Cdr} manager event and appends rows to SQLite on a
single writer thread; C{stop()} drains the queue so a clean shutdown loses
no record.

Configuration, C{cdr.conf} in the configuration directory (no file: no
CDRs)::

    [general]
    enable = yes          ; no: CDRs are off
    unanswered = no       ; yes: also log unanswered calls with no dialed party
    congestion = no       ; yes: CONGESTION disposition instead of FAILED
    amaflags = documentation  ; default AMA flags of new records

    [sqlite3]
    path = cdr.sqlite3    ; relative to the data directory (the default)

The C{cdr} table uses the column names of Asterisk's cdr_sqlite3_custom
(plus C{src}, C{dst}, C{start}, C{answer}, C{end}, C{linkedid}); times are
local C{YYYY-MM-DD HH:MM:SS}, C{answer} is empty for unanswered legs.
"""

import os
import sqlite3
import time
from dataclasses import dataclass, field, fields as dataclassFields, replace
from typing import Optional

from twisted.internet.defer import succeed
from twisted.logger import Logger

from pbxcore.store.astdb import SQLiteWriter

ANSWERED = "ANSWERED"
NO_ANSWER = "NO ANSWER"
BUSY = "BUSY"
FAILED = "FAILED"
CONGESTION = "CONGESTION"

AMA_FLAGS = ("OMIT", "BILLING", "DOCUMENTATION")

_CHANNEL_UP = 6

# Q.850 causes that decide a disposition when no dial status is known.
_CAUSE_NORMAL_CLEARING = 16
_CAUSE_BUSY = 17
_CAUSE_NO_ANSWER = 19
_CAUSE_CONGESTION = 34

#: Which disposition wins when several dial attempts of one record end.
_DISPOSITION_RANK = {FAILED: 0, NO_ANSWER: 1, CONGESTION: 2, BUSY: 3, ANSWERED: 4}


def formatTime(when: Optional[float]) -> str:
    """Asterisk's CDR time text (local time), empty when unset."""
    if not when:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


def mergeCallerID(name: str, number: str) -> str:
    """The clid text: C{"Name" <number>}, or whichever part exists."""
    if name and number:
        return f'"{name}" <{number}>'
    return name or number or ""


def dialStatusToDisposition(status: str, congestion: bool = False) -> str:
    status = (status or "").upper()
    if status == "ANSWER":
        return ANSWERED
    if status == "BUSY":
        return BUSY
    if status in ("NOANSWER", "CANCEL"):
        return NO_ANSWER
    if status == "CONGESTION":
        return CONGESTION if congestion else FAILED
    return FAILED


def causeToDisposition(cause: int, congestion: bool = False) -> str:
    if cause == _CAUSE_BUSY:
        return BUSY
    if cause == _CAUSE_CONGESTION:
        return CONGESTION if congestion else FAILED
    if cause in (_CAUSE_NORMAL_CLEARING, _CAUSE_NO_ANSWER):
        return NO_ANSWER
    return FAILED


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass
class CDRRecord:
    """One call detail record; the field names are Asterisk's CDR() names."""

    channel: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    clid: str = ""
    src: str = ""
    dst: str = ""
    dcontext: str = ""
    dstchannel: str = ""
    lastapp: str = ""
    lastdata: str = ""
    start: float = 0.0
    answer: Optional[float] = None
    end: Optional[float] = None
    disposition: str = ""
    amaflags: str = "DOCUMENTATION"
    accountcode: str = ""
    peeraccount: str = ""
    userfield: str = ""
    sequence: int = 0
    # Bookkeeping, not written out.
    dialStatus: Optional[str] = field(default=None, repr=False)
    dialing: bool = field(default=False, repr=False)
    cause: int = field(default=0, repr=False)

    @property
    def duration(self) -> int:
        if self.end is None:
            return 0
        return max(0, int(self.end - self.start))

    @property
    def billsec(self) -> int:
        if self.end is None or self.answer is None:
            return 0
        return max(0, int(self.end - self.answer))

    def row(self) -> dict:
        """The column values of the C{cdr} table."""
        return {
            "calldate": formatTime(self.start),
            "clid": self.clid,
            "src": self.src,
            "dst": self.dst,
            "dcontext": self.dcontext,
            "channel": self.channel,
            "dstchannel": self.dstchannel,
            "lastapp": self.lastapp,
            "lastdata": self.lastdata,
            "start": formatTime(self.start),
            "answer": formatTime(self.answer),
            "end": formatTime(self.end),
            "duration": self.duration,
            "billsec": self.billsec,
            "disposition": self.disposition,
            "amaflags": self.amaflags,
            "accountcode": self.accountcode,
            "uniqueid": self.uniqueid,
            "linkedid": self.linkedid,
            "userfield": self.userfield,
            "peeraccount": self.peeraccount,
            "sequence": self.sequence,
        }

    def managerFields(self) -> tuple:
        """The fields of the C{Cdr} manager event, as cdr_manager sends them."""
        return (
            ("AccountCode", self.accountcode),
            ("Source", self.src),
            ("Destination", self.dst),
            ("DestinationContext", self.dcontext),
            ("CallerID", self.clid),
            ("Channel", self.channel),
            ("DestinationChannel", self.dstchannel),
            ("LastApplication", self.lastapp),
            ("LastData", self.lastdata),
            ("StartTime", formatTime(self.start)),
            ("AnswerTime", formatTime(self.answer)),
            ("EndTime", formatTime(self.end)),
            ("Duration", str(self.duration)),
            ("BillableSeconds", str(self.billsec)),
            ("Disposition", self.disposition),
            ("AMAFlags", self.amaflags),
            ("UniqueID", self.uniqueid),
            ("UserField", self.userfield),
        )

    def read(self, name: str) -> Optional[str]:
        """CDR(name) as text, or None for an unknown field."""
        name = name.lower()
        if name in ("start", "answer", "end"):
            return formatTime(getattr(self, name))
        if name in ("duration", "billsec", "sequence"):
            return str(getattr(self, name))
        if name in _TEXT_FIELDS:
            return getattr(self, name)
        return None


_TEXT_FIELDS = {f.name for f in dataclassFields(CDRRecord)
                if f.type in (str, "str") and f.repr} - {"dialStatus"}
#: Fields CDR(name)=value may change.
WRITABLE_FIELDS = ("userfield", "accountcode", "amaflags", "peeraccount")


@dataclass
class _Leg:
    """What the builder knows about one live channel."""

    record: CDRRecord
    dialed: bool = False
    answered: bool = False
    name: str = ""
    callerName: str = ""
    callerNumber: str = ""
    bridges: set = field(default_factory=set)


class CDRBuilder:
    """
    Pure CDR bookkeeping: C{feed(event)} returns the records finished by that
    event (usually none; a Hangup finishes its leg's record).
    """

    #: The events a record is built from (one C{_on<Name>} handler each).
    EVENTS = ("Newchannel", "Newstate", "NewCallerid", "NewAccountCode", "NewExten",
              "DialBegin", "DialEnd", "BridgeEnter", "BridgeLeave", "BridgeDestroy",
              "Rename", "Hangup")

    def __init__(self, unanswered: bool = False, congestion: bool = False,
                 amaflags: str = "DOCUMENTATION"):
        self.unanswered = unanswered
        self.congestion = congestion
        self.amaflags = amaflags
        self._legs = {}  # channel name -> _Leg
        self._bridges = {}  # bridge uniqueid -> list of channel names
        self._sequence = 0

    def recordFor(self, channel: str) -> Optional[CDRRecord]:
        """The open record of C{channel} (by name or uniqueid), or None."""
        leg = self._legs.get(channel)
        if leg is None:
            for candidate in self._legs.values():
                if candidate.record.uniqueid == channel:
                    leg = candidate
                    break
        return leg.record if leg is not None else None

    def __len__(self):
        return len(self._legs)

    def _newRecord(self, leg, when, template=None):
        self._sequence += 1
        base = template or leg.record
        record = CDRRecord(
            channel=leg.name, uniqueid=base.uniqueid, linkedid=base.linkedid,
            clid=mergeCallerID(leg.callerName, leg.callerNumber),
            src=leg.callerNumber, dst=base.dst, dcontext=base.dcontext,
            lastapp=base.lastapp, lastdata=base.lastdata, start=when,
            amaflags=base.amaflags, accountcode=base.accountcode,
            userfield=base.userfield, sequence=self._sequence)
        return record

    def feed(self, event, now: Optional[float] = None) -> list:
        """
        Account for C{event}, which happened at C{now} (default: the event's
        own timestamp).
        """
        handler = getattr(self, "_on" + event.name, None)
        if handler is None:
            return []
        if now is not None and now != event.timestamp:
            event = replace(event, timestamp=now)
        self._trackCallerID(event)
        return handler(event) or []

    def _trackCallerID(self, event):
        """Every channel block carries the caller id; the record follows it."""
        leg = self._legs.get(event.get("Channel") or "")
        if leg is None:
            return
        number = event.get("CallerIDNum")
        name = event.get("CallerIDName")
        if number is None and name is None:
            return
        number = _present(number if number is not None else leg.callerNumber)
        name = _present(name if name is not None else leg.callerName)
        if (number, name) != (leg.callerNumber, leg.callerName):
            leg.callerNumber, leg.callerName = number, name
            leg.record.src = number
            leg.record.clid = mergeCallerID(name, number)

    def _leg(self, event, key="Channel"):
        return self._legs.get(event.get(key) or "")

    def _onNewchannel(self, event):
        name = event.get("Channel")
        if not name:
            return
        self._sequence += 1
        leg = _Leg(CDRRecord(
            channel=name, uniqueid=event.get("Uniqueid", ""),
            linkedid=event.get("Linkedid", "") or event.get("Uniqueid", ""),
            src=event.get("CallerIDNum", ""), dst=event.get("Exten", ""),
            dcontext=event.get("Context", ""), start=event.timestamp,
            accountcode=event.get("AccountCode", ""), amaflags=self.amaflags,
            sequence=self._sequence), name=name)
        leg.callerName = _present(event.get("CallerIDName", ""))
        leg.callerNumber = _present(event.get("CallerIDNum", ""))
        leg.record.src = leg.callerNumber
        leg.record.clid = mergeCallerID(leg.callerName, leg.callerNumber)
        self._legs[name] = leg
        if _int(event.get("ChannelState"), 0) == _CHANNEL_UP:
            leg.answered = True
            leg.record.answer = event.timestamp

    def _onNewstate(self, event):
        leg = self._leg(event)
        if leg is None:
            return
        if _int(event.get("ChannelState"), 0) == _CHANNEL_UP and not leg.answered:
            leg.answered = True
            if leg.record.answer is None:
                leg.record.answer = event.timestamp

    def _onNewCallerid(self, event):
        leg = self._leg(event)
        if leg is None:
            return
        leg.callerName = _present(event.get("CallerIDName", leg.callerName))
        leg.callerNumber = _present(event.get("CallerIDNum", leg.callerNumber))
        leg.record.src = leg.callerNumber
        leg.record.clid = mergeCallerID(leg.callerName, leg.callerNumber)

    def _onNewAccountCode(self, event):
        leg = self._leg(event)
        if leg is not None:
            leg.record.accountcode = event.get("AccountCode", "")

    def _onNewExten(self, event):
        leg = self._leg(event)
        if leg is None or leg.dialed:
            return
        exten = event.get("Exten", "")
        if exten == "h" or leg.record.dialStatus is not None or leg.record.dialing:
            return
        leg.record.dst = exten
        leg.record.dcontext = event.get("Context", leg.record.dcontext)
        leg.record.lastapp = event.get("Application", "")
        leg.record.lastdata = event.get("AppData", "")

    def _onDialBegin(self, event):
        finished = []
        dest = self._leg(event, "DestChannel")
        if dest is not None:
            dest.dialed = True
        leg = self._leg(event)
        if leg is None:
            return finished
        record = leg.record
        if record.dialStatus is not None and not record.dialing:
            # A new dial after a finished one: the old record is complete.
            finished.extend(self._finish(leg, event.timestamp, fork=True))
            record = leg.record
        if not record.dialing:
            record.dialing = True
            record.dialStatus = None
            record.dstchannel = event.get("DestChannel", "")
            if dest is not None:
                record.peeraccount = dest.record.accountcode
        return finished

    def _onDialEnd(self, event):
        leg = self._leg(event)
        if leg is None:
            return
        record = leg.record
        status = (event.get("DialStatus") or "").upper()
        if not status:
            return
        if status == "ANSWER":
            record.dstchannel = event.get("DestChannel", record.dstchannel)
            record.dialStatus = "ANSWER"
        elif record.dialStatus != "ANSWER":
            new = dialStatusToDisposition(status, self.congestion)
            old = (dialStatusToDisposition(record.dialStatus, self.congestion)
                   if record.dialStatus else None)
            if old is None or _DISPOSITION_RANK[new] >= _DISPOSITION_RANK[old]:
                record.dialStatus = status
        record.dialing = False

    def _onBridgeEnter(self, event):
        bridge = event.get("BridgeUniqueid", "")
        name = event.get("Channel", "")
        members = self._bridges.setdefault(bridge, [])
        leg = self._legs.get(name)
        for other in members:
            otherLeg = self._legs.get(other)
            if otherLeg is not None and not otherLeg.dialed and not otherLeg.record.dstchannel:
                otherLeg.record.dstchannel = name
        if leg is not None and not leg.dialed and not leg.record.dstchannel and members:
            leg.record.dstchannel = members[0]
        if name not in members:
            members.append(name)
        if leg is not None:
            leg.bridges.add(bridge)

    def _onBridgeLeave(self, event):
        bridge = event.get("BridgeUniqueid", "")
        name = event.get("Channel", "")
        members = self._bridges.get(bridge)
        if members and name in members:
            members.remove(name)
            if not members:
                del self._bridges[bridge]
        leg = self._legs.get(name)
        if leg is not None:
            leg.bridges.discard(bridge)

    def _onBridgeDestroy(self, event):
        self._bridges.pop(event.get("BridgeUniqueid", ""), None)

    def _onRename(self, event):
        leg = self._legs.pop(event.get("Channel", ""), None)
        newName = event.get("Newname")
        if leg is not None and newName:
            leg.name = newName
            leg.record.channel = newName
            self._legs[newName] = leg

    def _onHangup(self, event):
        leg = self._legs.pop(event.get("Channel", ""), None)
        if leg is None:
            return
        leg.record.cause = _int(event.get("Cause"), 0)
        for bridge in list(leg.bridges):
            members = self._bridges.get(bridge)
            if members and leg.name in members:
                members.remove(leg.name)
                if not members:
                    del self._bridges[bridge]
        return self._finish(leg, event.timestamp)

    def _finish(self, leg, when, fork=False):
        """Close the leg's record; returns it in a list when it is to be logged."""
        record = leg.record
        record.end = when
        if record.dialStatus is not None:
            record.disposition = dialStatusToDisposition(record.dialStatus, self.congestion)
        elif record.answer is not None:
            record.disposition = ANSWERED
        elif record.cause:
            record.disposition = causeToDisposition(record.cause, self.congestion)
        else:
            record.disposition = FAILED
        if fork:
            leg.record = self._newRecord(leg, when, record)
        if leg.dialed:
            return []
        if record.amaflags.upper() == "OMIT":
            return []
        if record.answer is None and not record.dstchannel and not self.unanswered:
            return []
        return [record]

    def finishAll(self, now) -> list:
        """End every open record (shutdown); returns those to be logged."""
        finished = []
        for name in list(self._legs):
            leg = self._legs.pop(name)
            finished.extend(self._finish(leg, now))
        self._bridges.clear()
        return finished


def _present(value):
    return "" if value in (None, "<unknown>") else value


_COLUMNS = ("calldate", "clid", "src", "dst", "dcontext", "channel", "dstchannel",
            "lastapp", "lastdata", "start", "answer", "end", "duration", "billsec",
            "disposition", "amaflags", "accountcode", "uniqueid", "linkedid",
            "userfield", "peeraccount", "sequence")

_CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS cdr ("
    "AcctId INTEGER PRIMARY KEY AUTOINCREMENT, "
    "calldate CHAR(19), clid VARCHAR(80), src VARCHAR(80), dst VARCHAR(80), "
    "dcontext VARCHAR(80), channel VARCHAR(80), dstchannel VARCHAR(80), "
    "lastapp VARCHAR(80), lastdata VARCHAR(80), start CHAR(19), answer CHAR(19), "
    '"end" CHAR(19), duration INTEGER, billsec INTEGER, disposition VARCHAR(45), '
    "amaflags VARCHAR(45), accountcode VARCHAR(20), uniqueid VARCHAR(150), "
    "linkedid VARCHAR(150), userfield VARCHAR(255), peeraccount VARCHAR(20), "
    "sequence INTEGER)")

_INSERT = "INSERT INTO cdr ({}) VALUES ({})".format(
    ", ".join(f'"{c}"' for c in _COLUMNS), ", ".join("?" for _ in _COLUMNS))


class CDREngine:
    """
    Call detail records of one PBX, logged to SQLite at C{path}.

    Build it with L{fromConfig}; C{start()} opens the file and starts
    listening, C{stop()} logs what is still open and flushes everything.
    """

    log = Logger()

    def __init__(self, pbx, path, unanswered=False, congestion=False,
                 amaflags="DOCUMENTATION", reactor=None):
        self.pbx = pbx
        self.path = path
        self.builder = CDRBuilder(unanswered, congestion, amaflags)
        self._reactor = reactor if reactor is not None else getattr(pbx, "reactor", None)
        self._writer = None
        self._unsubscribe = None
        self.written = 0
        #: Callables given each finished record's row (cdr_pgsql); a module
        #: adds one at load (C{addBackend}) and its registrar removes it.
        self.backends = []

    @classmethod
    def fromConfig(cls, pbx):
        """
        The engine described by C{<configDir>/cdr.conf}, or None when the
        file is absent or says C{enable = no}. Raises ConfigError on a bad
        value.
        """
        from pbxcore.config import ConfigError, isFalse, isTrue, parseFile

        confPath = os.path.join(pbx.configDir, "cdr.conf")
        if not os.path.exists(confPath):
            return None
        config = parseFile(confPath)
        general = config.section("general")
        options = {"unanswered": False, "congestion": False}
        amaflags = "DOCUMENTATION"
        if general is not None:
            for entry in general.entries:
                key = entry.key.lower()
                if key == "enable":
                    if isFalse(entry.value):
                        return None
                    if not isTrue(entry.value):
                        raise ConfigError(f"enable must be yes or no, not {entry.value!r}",
                                          entry.filename, entry.line)
                elif key in options:
                    if not (isTrue(entry.value) or isFalse(entry.value)):
                        raise ConfigError(f"{entry.key} must be yes or no, not {entry.value!r}",
                                          entry.filename, entry.line)
                    options[key] = isTrue(entry.value)
                elif key == "amaflags":
                    value = entry.value.strip().upper()
                    if value not in AMA_FLAGS:
                        raise ConfigError(
                            f"amaflags must be one of {', '.join(AMA_FLAGS).lower()}, "
                            f"not {entry.value!r}", entry.filename, entry.line)
                    amaflags = value
        path = "cdr.sqlite3"
        sqliteSection = config.section("sqlite3")
        if sqliteSection is not None:
            entry = sqliteSection.entry("path") if hasattr(sqliteSection, "entry") else None
            if entry is not None:
                if not entry.value.strip():
                    raise ConfigError("path must not be empty", entry.filename, entry.line)
                path = entry.value.strip()
        if not os.path.isabs(path):
            path = os.path.join(pbx.dataDir, path)
        return cls(pbx, path, amaflags=amaflags, **options)

    def start(self):
        """Open the database and start recording; returns a Deferred."""
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        connection = sqlite3.connect(self.path, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            with connection:
                connection.execute(_CREATE_TABLE)
        except sqlite3.Error:
            connection.close()
            raise
        self._writer = SQLiteWriter(connection, "cdr", self._reactor)
        self._unsubscribe = self.pbx.events.subscribe(self._eventReceived, CDRBuilder.EVENTS)
        self.log.info("CDRs logged to {path}", path=self.path)
        return succeed(None)

    def stop(self):
        """
        Stop recording: records of calls still up are closed now and logged;
        the returned Deferred fires once every row is on disk.
        """
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        now = self._now()
        for record in self.builder.finishAll(time.time() if now is None else now):
            self._post(record)
        writer, self._writer = self._writer, None
        if writer is None:
            return succeed(None)
        return writer.close()

    def flush(self):
        """A Deferred firing once every record so far is on disk."""
        if self._writer is None:
            return succeed(None)
        return self._writer.flush()

    def recordFor(self, channel):
        """The open record of a channel (object, name or uniqueid), or None."""
        key = getattr(channel, "name", channel)
        record = self.builder.recordFor(key)
        if record is None and hasattr(channel, "uniqueid"):
            record = self.builder.recordFor(channel.uniqueid)
        return record

    def _now(self):
        """The PBX clock: CDR times follow the reactor the channels run on."""
        if self._reactor is not None:
            return self._reactor.seconds()
        return None

    def _eventReceived(self, event):
        for record in self.builder.feed(event, self._now()):
            self._post(record)

    def addBackend(self, backend):
        """Give C{backend(row)} every finished record; returns a function removing it."""
        self.backends.append(backend)
        return lambda: self.backends.remove(backend) if backend in self.backends else None

    def _post(self, record):
        row = record.row()
        if self._writer is not None:
            self._writer.execute(_INSERT, [row[c] for c in _COLUMNS])
            self.written += 1
        for backend in list(self.backends):
            try:
                backend(row)
            except Exception:
                self.log.failure("CDR backend {backend!r} failed", backend=backend)
        self.pbx.emitEvent("Cdr", record.managerFields(), "cdr")
