"""
Frames, controls, channel states and hangup causes: the vocabulary every
channel and application shares.

Pure: no reactor, no I/O. The numbers are Asterisk's (and for causes, Q.850)
so that manager events, CDRs and dialplan variables read the same as there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional, Union


class FrameKind(enum.Enum):
    """What a frame carries."""

    VOICE = "voice"
    DTMF_BEGIN = "dtmf_begin"
    DTMF_END = "dtmf_end"
    CONTROL = "control"
    TEXT = "text"
    NULL = "null"
    CNG = "cng"


class Control(enum.IntEnum):
    """Call-progress and signalling indications (Asterisk's AST_CONTROL_*)."""

    HANGUP = 1
    RING = 2
    RINGING = 3
    ANSWER = 4
    BUSY = 5
    TAKEOFFHOOK = 6
    OFFHOOK = 7
    CONGESTION = 8
    FLASH = 9
    WINK = 10
    OPTION = 11
    RADIO_KEY = 12
    RADIO_UNKEY = 13
    PROGRESS = 14
    PROCEEDING = 15
    HOLD = 16
    UNHOLD = 17
    VIDUPDATE = 18
    T38 = 19
    SRCUPDATE = 20
    TRANSFER = 21
    CONNECTED_LINE = 22
    REDIRECTING = 23
    T38_PARAMETERS = 24
    CC = 25
    SRCCHANGE = 26
    READ_ACTION = 27
    AOC = 28
    END_OF_Q = 29
    INCOMPLETE = 30
    MCID = 31
    UPDATE_RTP_PEER = 32
    PVT_CAUSE_CODE = 33
    MASQUERADE_NOTIFY = 34


class ChannelState(enum.IntEnum):
    """Channel states with Asterisk's numbers (ChannelState in AMI)."""

    DOWN = 0
    RESERVED = 1
    OFFHOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7
    DIALING_OFFHOOK = 8
    PRERING = 9

    @property
    def description(self) -> str:
        """The ChannelStateDesc text of the manager events."""
        return _STATE_TEXT[self]


_STATE_TEXT = {
    ChannelState.DOWN: "Down",
    ChannelState.RESERVED: "Rsrvd",
    ChannelState.OFFHOOK: "OffHook",
    ChannelState.DIALING: "Dialing",
    ChannelState.RING: "Ring",
    ChannelState.RINGING: "Ringing",
    ChannelState.UP: "Up",
    ChannelState.BUSY: "Busy",
    ChannelState.DIALING_OFFHOOK: "Dialing Offhook",
    ChannelState.PRERING: "Pre-ring",
}


class HangupCause(enum.IntEnum):
    """
    Q.850 cause values under Asterisk's names. Aliases (BUSY, CONGESTION,
    UNREGISTERED, ...) resolve to the same members.
    """

    NOTDEFINED = 0
    UNALLOCATED = 1
    NO_ROUTE_TRANSIT_NET = 2
    NO_ROUTE_DESTINATION = 3
    MISDIALLED_TRUNK_PREFIX = 5
    CHANNEL_UNACCEPTABLE = 6
    CALL_AWARDED_DELIVERED = 7
    PRE_EMPTED = 8
    NUMBER_PORTED_NOT_HERE = 14
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19
    SUBSCRIBER_ABSENT = 20
    CALL_REJECTED = 21
    NUMBER_CHANGED = 22
    REDIRECTED_TO_NEW_DESTINATION = 23
    ANSWERED_ELSEWHERE = 26
    DESTINATION_OUT_OF_ORDER = 27
    INVALID_NUMBER_FORMAT = 28
    FACILITY_REJECTED = 29
    RESPONSE_TO_STATUS_ENQUIRY = 30
    NORMAL_UNSPECIFIED = 31
    NORMAL_CIRCUIT_CONGESTION = 34
    NETWORK_OUT_OF_ORDER = 38
    NORMAL_TEMPORARY_FAILURE = 41
    SWITCH_CONGESTION = 42
    ACCESS_INFO_DISCARDED = 43
    REQUESTED_CHAN_UNAVAIL = 44
    FACILITY_NOT_SUBSCRIBED = 50
    OUTGOING_CALL_BARRED = 52
    INCOMING_CALL_BARRED = 54
    BEARERCAPABILITY_NOTAUTH = 57
    BEARERCAPABILITY_NOTAVAIL = 58
    BEARERCAPABILITY_NOTIMPL = 65
    CHAN_NOT_IMPLEMENTED = 66
    FACILITY_NOT_IMPLEMENTED = 69
    INVALID_CALL_REFERENCE = 81
    INCOMPATIBLE_DESTINATION = 88
    INVALID_MSG_UNSPECIFIED = 95
    MANDATORY_IE_MISSING = 96
    MESSAGE_TYPE_NONEXIST = 97
    WRONG_MESSAGE = 98
    IE_NONEXIST = 99
    INVALID_IE_CONTENTS = 100
    WRONG_CALL_STATE = 101
    RECOVERY_ON_TIMER_EXPIRE = 102
    MANDATORY_IE_LENGTH_ERROR = 103
    PROTOCOL_ERROR = 111
    INTERWORKING = 127

    # Asterisk's aliases.
    BUSY = 17
    FAILURE = 38
    NORMAL = 16
    NOANSWER = 19
    CONGESTION = 34
    UNREGISTERED = 20
    NOSUCHDRIVER = 66

    @property
    def text(self) -> str:
        """The human text (Cause-txt in the Hangup event)."""
        return _CAUSE_TEXT.get(self, "Unknown")


_CAUSE_TEXT = {
    HangupCause.NOTDEFINED: "Unknown",
    HangupCause.UNALLOCATED: "Unallocated (unassigned) number",
    HangupCause.NO_ROUTE_TRANSIT_NET: "No route to specified transmit network",
    HangupCause.NO_ROUTE_DESTINATION: "No route to destination",
    HangupCause.MISDIALLED_TRUNK_PREFIX: "Misdialed trunk prefix",
    HangupCause.CHANNEL_UNACCEPTABLE: "Channel unacceptable",
    HangupCause.CALL_AWARDED_DELIVERED: "Call awarded and being delivered in an established channel",
    HangupCause.PRE_EMPTED: "Pre-empted",
    HangupCause.NUMBER_PORTED_NOT_HERE: "Number ported elsewhere",
    HangupCause.NORMAL_CLEARING: "Normal Clearing",
    HangupCause.USER_BUSY: "User busy",
    HangupCause.NO_USER_RESPONSE: "No user responding",
    HangupCause.NO_ANSWER: "User alerting, no answer",
    HangupCause.SUBSCRIBER_ABSENT: "Subscriber absent",
    HangupCause.CALL_REJECTED: "Call Rejected",
    HangupCause.NUMBER_CHANGED: "Number changed",
    HangupCause.REDIRECTED_TO_NEW_DESTINATION: "Redirected to new destination",
    HangupCause.ANSWERED_ELSEWHERE: "Answered elsewhere",
    HangupCause.DESTINATION_OUT_OF_ORDER: "Destination out of order",
    HangupCause.INVALID_NUMBER_FORMAT: "Invalid number format",
    HangupCause.FACILITY_REJECTED: "Facility rejected",
    HangupCause.RESPONSE_TO_STATUS_ENQUIRY: "Response to STATus ENQuiry",
    HangupCause.NORMAL_UNSPECIFIED: "Normal, unspecified",
    HangupCause.NORMAL_CIRCUIT_CONGESTION: "Circuit/channel congestion",
    HangupCause.NETWORK_OUT_OF_ORDER: "Network out of order",
    HangupCause.NORMAL_TEMPORARY_FAILURE: "Temporary failure",
    HangupCause.SWITCH_CONGESTION: "Switching equipment congestion",
    HangupCause.ACCESS_INFO_DISCARDED: "Access information discarded",
    HangupCause.REQUESTED_CHAN_UNAVAIL: "Requested channel not available",
    HangupCause.FACILITY_NOT_SUBSCRIBED: "Facility not subscribed",
    HangupCause.OUTGOING_CALL_BARRED: "Outgoing call barred",
    HangupCause.INCOMING_CALL_BARRED: "Incoming call barred",
    HangupCause.BEARERCAPABILITY_NOTAUTH: "Bearer capability not authorized",
    HangupCause.BEARERCAPABILITY_NOTAVAIL: "Bearer capability not available",
    HangupCause.BEARERCAPABILITY_NOTIMPL: "Bearer capability not implemented",
    HangupCause.CHAN_NOT_IMPLEMENTED: "Channel not implemented",
    HangupCause.FACILITY_NOT_IMPLEMENTED: "Facility not implemented",
    HangupCause.INVALID_CALL_REFERENCE: "Invalid call reference value",
    HangupCause.INCOMPATIBLE_DESTINATION: "Incompatible destination",
    HangupCause.INVALID_MSG_UNSPECIFIED: "Invalid message unspecified",
    HangupCause.MANDATORY_IE_MISSING: "Mandatory information element is missing",
    HangupCause.MESSAGE_TYPE_NONEXIST: "Message type nonexist.",
    HangupCause.WRONG_MESSAGE: "Wrong message",
    HangupCause.IE_NONEXIST: "Info. element nonexist or not implemented",
    HangupCause.INVALID_IE_CONTENTS: "Invalid information element contents",
    HangupCause.WRONG_CALL_STATE: "Message not compatible with call state",
    HangupCause.RECOVERY_ON_TIMER_EXPIRE: "Recover on timer expiry",
    HangupCause.MANDATORY_IE_LENGTH_ERROR: "Mandatory IE length error",
    HangupCause.PROTOCOL_ERROR: "Protocol error, unspecified",
    HangupCause.INTERWORKING: "Interworking, unspecified",
}


def asCause(value: int) -> Union[HangupCause, int]:
    """C{value} as a HangupCause when it is one, else as the plain number."""
    try:
        return HangupCause(value)
    except ValueError:
        return int(value)


def causeFromName(name: Union[str, int, None]) -> Optional[HangupCause]:
    """
    A HangupCause from a name ('USER_BUSY', 'busy'), an alias or a number
    ('17'); None when unknown, as Asterisk's ast_str2cause returns -1.
    """
    if name is None:
        return None
    if isinstance(name, int):
        try:
            return HangupCause(name)
        except ValueError:
            return None
    text = name.strip()
    if not text:
        return None
    if text.isdigit():
        try:
            return HangupCause(int(text))
        except ValueError:
            return None
    upper = text.upper()
    if upper.startswith("AST_CAUSE_"):
        upper = upper[len("AST_CAUSE_"):]
    return HangupCause.__members__.get(upper)


def causeText(cause: Union[int, None]) -> str:
    """The text of any cause number, 'Unknown' for numbers Q.850 leaves out."""
    if cause is None:
        return "Unknown"
    try:
        return HangupCause(int(cause)).text
    except ValueError:
        return "Unknown"


#: Samples per millisecond for the formats the core knows by name.
SAMPLE_RATES = {"ulaw": 8000, "alaw": 8000, "slin": 8000, "slin16": 16000, "g722": 16000,
                "opus": 48000}


@dataclass(frozen=True)
class Frame:
    """
    One unit of media or signalling. C{subclass} is the format name for
    VOICE, the digit for DTMF, the Control for CONTROL.
    """

    kind: FrameKind
    subclass: object = None
    data: bytes = b""
    samples: int = 0
    durationMs: int = 0
    timestamp: Optional[int] = None

    @property
    def isVoice(self) -> bool:
        return self.kind is FrameKind.VOICE

    @property
    def isControl(self) -> bool:
        return self.kind is FrameKind.CONTROL


def voiceFrame(fmt: str, data: bytes, timestamp: Optional[int] = None) -> Frame:
    """A VOICE frame whose samples and duration follow from the format."""
    if fmt in ("ulaw", "alaw"):
        samples = len(data)
    elif fmt in ("slin", "slin16"):
        samples = len(data) // 2
    else:
        samples = 0
    rate = SAMPLE_RATES.get(fmt, 8000)
    return Frame(FrameKind.VOICE, fmt, data, samples, samples * 1000 // rate, timestamp)


def controlFrame(control: Control, data: object = None) -> Frame:
    """A CONTROL frame; C{data} rides in C{data} when it is bytes, else is dropped."""
    return Frame(FrameKind.CONTROL, Control(control), data if isinstance(data, bytes) else b"")


def dtmfFrame(digit: str, end: bool = True, durationMs: int = 100) -> Frame:
    """A DTMF_END (or DTMF_BEGIN) frame for C{digit}."""
    if end:
        return Frame(FrameKind.DTMF_END, digit, b"", 0, durationMs)
    return Frame(FrameKind.DTMF_BEGIN, digit)


def textFrame(text: str) -> Frame:
    return Frame(FrameKind.TEXT, None, text.encode("utf-8"))


NULL_FRAME = Frame(FrameKind.NULL)
