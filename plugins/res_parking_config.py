"""
Parking lots, PURE: res_parking.conf (and features.conf's older [general]
parking keys) into frozen lot settings, and the choice of a free slot.

res_parking.conf::

    [general]
    parkeddynamic = no

    [default]                 ; a parking lot
    context => parkedcalls
    parkext => 700
    parkpos => 701-720
    parkingtime => 45
    comebacktoorigin = yes
    comebackdialtime = 30
    comebackcontext = parkedcallstimeout
    parkedmusicclass = default
    findslot = first          ; or next

Without res_parking.conf, features.conf's [general] parkext, parkpos,
context, parkingtime, comebacktoorigin, comebackdialtime, comebackcontext,
parkedmusicclass and findslot make the lot "default" (Asterisk 11's
features.conf), and its [parkinglot_NAME] sections more lots.
"""

from dataclasses import dataclass, replace

from pbxcore.config import ConfigError

_BOOL_TRUE = ("yes", "true", "y", "t", "1", "on")

#: The lot keys understood (others are Asterisk's and ignored with no error).
_KEYS = ("context", "parkext", "parkpos", "parkingtime", "comebacktoorigin",
         "comebackdialtime", "comebackcontext", "parkedmusicclass", "findslot",
         "parkext_exclusive", "parkinghints", "parkedplay", "parkedcalltransfers",
         "parkedcallreparking", "parkedcallhangup", "parkedcallrecording",
         "courtesytone")


@dataclass(frozen=True)
class ParkingLotConfig:
    """One parking lot."""
    name: str = "default"
    context: str = "parkedcalls"
    parkext: str = "700"
    parkposStart: int = 701
    parkposEnd: int = 750
    parkingtime: float = 45.0
    comebacktoorigin: bool = True
    comebackdialtime: float = 30.0
    comebackcontext: str = "parkedcallstimeout"
    parkedmusicclass: str = "default"
    findslot: str = "first"

    def slots(self):
        """Every slot of the lot, in order."""
        return range(self.parkposStart, self.parkposEnd + 1)

    def hint(self, slot):
        """The device of a slot's hint (park:701@parkedcalls)."""
        return f"park:{slot}@{self.context}"


def _number(entry, value, kind=float):
    try:
        result = kind(value)
    except ValueError:
        raise ConfigError(f"{entry.key}: {value!r} is not a number", entry.filename, entry.line)
    if result < 0:
        raise ConfigError(f"{entry.key}: {value!r} is negative", entry.filename, entry.line)
    return result


def _apply(lot, entries):
    """C{lot} with the settings of C{entries} (config entries) applied."""
    changes = {}
    for entry in entries:
        key = entry.key.lower()
        value = (entry.value or "").strip()
        if key not in _KEYS:
            continue
        if key == "parkpos":
            start, dash, end = value.partition("-")
            first = _number(entry, start.strip(), int)
            last = _number(entry, end.strip(), int) if dash else first
            if last < first:
                raise ConfigError(f"parkpos: {value!r} ends before it starts",
                                  entry.filename, entry.line)
            changes["parkposStart"], changes["parkposEnd"] = first, last
        elif key in ("parkingtime", "comebackdialtime"):
            changes[key] = _number(entry, value)
        elif key == "comebacktoorigin":
            changes[key] = value.lower() in _BOOL_TRUE
        elif key == "findslot":
            if value.lower() not in ("first", "next"):
                raise ConfigError(f"findslot: {value!r} is not first or next",
                                  entry.filename, entry.line)
            changes[key] = value.lower()
        elif key in ("context", "parkext", "comebackcontext", "parkedmusicclass"):
            if not value:
                raise ConfigError(f"{key}: empty", entry.filename, entry.line)
            changes[key] = value
    return replace(lot, **changes)


def parseResParking(config):
    """{lot name: ParkingLotConfig} from a parsed res_parking.conf."""
    lots = {}
    for section in config.sections:
        if section.name.lower() == "general":
            continue
        lots[section.name] = _apply(ParkingLotConfig(name=section.name), section.entries)
    lots.setdefault("default", ParkingLotConfig())
    return lots


def parseFeaturesParking(config):
    """{lot name: ParkingLotConfig} from features.conf ([general], [parkinglot_*])."""
    lots = {}
    general = config.section("general") if config is not None else None
    lots["default"] = _apply(ParkingLotConfig(), general.entries if general is not None else ())
    for section in (config.sections if config is not None else ()):
        if section.name.lower().startswith("parkinglot_"):
            lots[section.name] = _apply(ParkingLotConfig(name=section.name), section.entries)
    return lots


def checkLots(lots, filename=""):
    """ConfigError when two lots share an extension or a slot."""
    seen = {}
    for lot in lots.values():
        for exten in [lot.parkext] + [str(s) for s in lot.slots()]:
            key = (lot.context.lower(), exten)
            if key in seen and seen[key] != lot.name:
                raise ConfigError(f"lots {seen[key]} and {lot.name} both use {exten}@{lot.context}",
                                  filename, 0)
            seen[key] = lot.name
    return lots


def chooseSlot(lot, occupied, last=None, wanted=None):
    """
    The slot a new call parks in: C{wanted} when it is free and in the
    lot, else the first free one (findslot=first) or the first free one
    after C{last} (findslot=next, wrapping); None when the lot is full.
    """
    if wanted is not None:
        return wanted if wanted in lot.slots() and wanted not in occupied else None
    slots = list(lot.slots())
    if lot.findslot == "next" and last is not None and last in lot.slots():
        at = slots.index(last) + 1
        slots = slots[at:] + slots[:at]
    for slot in slots:
        if slot not in occupied:
            return slot
    return None


def lotForContext(lots, context, exten):
    """The lot whose parkext or one of whose slots is exten@context, else None."""
    for lot in lots.values():
        if lot.context.lower() != (context or "").lower():
            continue
        if exten == lot.parkext or (exten.isdigit() and int(exten) in lot.slots()):
            return lot
    return None
