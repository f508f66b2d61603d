"""
Call parking (Asterisk's res_parking).

Lots come from res_parking.conf, or from features.conf's [general]
(plugins.res_parking_config). The dialplan reaches them as Asterisk's
sample does: the lot's context ([parkedcalls]) holds the park extension
(700: C{Park()}), its slots (C{ParkedCall(default,${EXTEN})}) and the
slots' hints C{park:701@parkedcalls}, whose device states this module
provides (in use while a call is parked there) so BLF keys light.

Park([lot[,options]]) parks the calling channel: the slot is said to it
(option C{s}: not), then hold music (the lot's parkedmusicclass) until
ParkedCall([lot[,slot]]) on another channel takes it, the caller hangs up
(ParkedCallGiveUp) or parkingtime passes (ParkedCallTimeOut): with
comebacktoorigin the parker's device (the transferer of a blind transfer
to 700, BLINDTRANSFER, or PARKER) is dialled for comebackdialtime seconds,
else the call continues at s@comebackcontext when that exists. Park()'s
option t(seconds), or the channel variable PARKINGTIMEOUT (set by the
manager's Park with Timeout), replaces parkingtime for one call.
"""

import os

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import (
    Action,
    ApplicationHangup,
    ChannelHungUp,
    ChannelState,
    CLIUsageError,
    FunctionApplication,
    HangupCause,
    ICLICommand,
    ListResponse,
    ManagerError,
    Module,
    Success,
    channelFields,
    parseFile,
    required,
    splitArgs,
)
from pbxcore.bridge import Bridge
from pbxcore.dialplan.builtins import sayDigits
from plugins.res_parking_config import (
    checkLots,
    chooseSlot,
    lotForContext,
    parseFeaturesParking,
    parseResParking,
)

log = Logger(namespace="plugins.res_parking")


def readLots(configDir):
    """The lots of res_parking.conf, else of features.conf, else the default lot."""
    for name, parse in (("res_parking.conf", parseResParking),
                        ("features.conf", parseFeaturesParking)):
        path = os.path.join(configDir, name) if configDir else None
        if path and os.path.exists(path):
            return checkLots(parse(parseFile(path)), name)
    return parseFeaturesParking(None)


def _timeout(options, variable):
    """Park()'s t(seconds) option, else PARKINGTIMEOUT (the manager's Park Timeout), else None."""
    at = options.find("t(")
    if at >= 0:
        text = options[at + 2:].partition(")")[0]
    else:
        text = variable or ""
    try:
        return max(0.0, float(text)) if text.strip() else None
    except ValueError:
        return None


def parkerDevice(name):
    """SIP/1001 from a channel name SIP/1001-0000002a (what comebacktoorigin dials)."""
    if not name:
        return ""
    base, dash, suffix = name.rpartition("-")
    return base if dash and "/" in base else name


class ParkedCall:
    """A call waiting in a slot."""

    def __init__(self, lot, slot, parkee, parker, since, timeout=None):
        self.lot = lot
        self.timeout = lot.parkingtime if timeout is None else timeout
        self.slot = slot
        self.parkee = parkee
        self.parker = parker  # the parker's channel name ("" when none)
        self.since = since
        self.wake = defer.Deferred()  # fires with a retriever, "timeout" or "hangup"
        self.finished = defer.Deferred()  # fires when the retriever's bridge ends

    def fields(self, now, prefix=()):
        fields = list(prefix) + channelFields(self.parkee, "Parkee")
        fields += [
            ("ParkerDialString", parkerDevice(self.parker)),
            ("Parkinglot", self.lot.name),
            ("ParkingSpace", str(self.slot)),
            ("ParkingTimeout", str(max(0, int(self.timeout - (now - self.since))))),
            ("ParkingDuration", str(int(now - self.since))),
        ]
        return fields


class ParkingModule(Module):
    """res_parking: Park(), ParkedCall(), the park: device states, AMI and CLI."""

    def __init__(self):
        self.pbx = None
        self.lots = {}
        self.parked = {}  # (lot name, slot) -> ParkedCall
        self.lastSlot = {}

    def load(self, pbx, registrar):
        self.pbx = pbx
        self.lots = readLots(getattr(pbx, "configDir", None))
        registrar.register("application", FunctionApplication(
            "Park", self.park, "Park yourself."))
        registrar.register("application", FunctionApplication(
            "ParkedCall", self.parkedCall, "Retrieve a parked call."))
        for name, privileges, synopsis, run in (
                ("Park", ("call",), "Park a channel.", self.managerPark),
                ("ParkedCalls", ("call", "reporting"), "List parked calls.",
                 self.managerParkedCalls),
                ("Parkinglots", ("call", "reporting"), "Get a list of parking lots",
                 self.managerParkinglots)):
            registrar.register("manageraction", Action(name, privileges, synopsis, run))
        registrar.register("clicommand", ParkedCallsShow(self))
        engine = getattr(pbx, "devicestate", None)
        if engine is not None:
            registrar.addCleanup(engine.addProvider("park:", self.deviceState))

    def reload(self, pbx):
        self.lots = readLots(getattr(pbx, "configDir", None))

    def unload(self, pbx):
        for call in list(self.parked.values()):
            if not call.wake.called:
                call.wake.callback("hangup")

    # -- state -----------------------------------------------------------------

    def now(self):
        return self.pbx.reactor.seconds()

    def deviceState(self, rest):
        """park:701@parkedcalls: INUSE while a call is parked there."""
        slot, _, context = rest.partition("@")
        lot = lotForContext(self.lots, context or "parkedcalls", slot.strip())
        if lot is None or not slot.strip().isdigit():
            return "INVALID"
        return "INUSE" if (lot.name, int(slot)) in self.parked else "NOT_INUSE"

    def _changed(self, call):
        engine = getattr(self.pbx, "devicestate", None)
        if engine is not None:
            engine.deviceStateChanged(call.lot.hint(call.slot))

    def _emit(self, name, call, prefix=()):
        self.pbx.emitEvent(name, call.fields(self.now(), prefix), "call")

    def lotFor(self, channel, name=""):
        name = (name or channel.getVariable("PARKINGLOT") or "").strip()
        if name:
            for lot in self.lots.values():
                if lot.name.lower() == name.lower():
                    return lot
            return None
        return (lotForContext(self.lots, channel.context, channel.exten or "")
                or self.lots.get("default") or next(iter(self.lots.values()), None))

    def find(self, lot, slot=None):
        """The parked call in C{slot} of C{lot}, or the longest-parked one."""
        if slot is not None:
            return self.parked.get((lot.name, slot))
        calls = [c for (name, _), c in self.parked.items() if name == lot.name]
        return min(calls, key=lambda c: c.since) if calls else None

    # -- Park() ----------------------------------------------------------------

    def _slotFor(self, channel, lot):
        occupied = {slot for (name, slot) in self.parked if name == lot.name}
        wanted = (channel.getVariable("PARKINGEXTEN") or "").strip()
        slot = chooseSlot(lot, occupied, self.lastSlot.get(lot.name),
                          int(wanted) if wanted.isdigit() else None)
        if slot is not None:
            self.lastSlot[lot.name] = slot
        return slot

    async def park(self, channel, data):
        args = splitArgs(data or "")
        lotName = args[0].strip() if args else ""
        options = args[1].strip() if len(args) > 1 else ""
        lot = self.lotFor(channel, lotName)
        if lot is None:
            log.warn("Park: no parking lot {name}", name=lotName)
            return
        if channel.state != ChannelState.UP:
            await channel.answer()
        slot = self._slotFor(channel, lot)
        if slot is None:
            log.warn("Park: lot {name} is full", name=lot.name)
            channel.setVariable("PARKINGSLOT", "")
            return
        parker = (channel.getVariable("PARKER") or channel.getVariable("BLINDTRANSFER")
                  or channel.name)
        call = ParkedCall(lot, slot, channel, parker, self.now(),
                          _timeout(options, channel.getVariable("PARKINGTIMEOUT")))
        self.parked[(lot.name, slot)] = call
        channel.setVariable("PARKINGSLOT", str(slot))
        channel.setVariable("PARKEDLOT", lot.name)
        channel.setVariable("PARKER", parker)
        self.pbx.verbose(3, f"Parked {channel.name} on {slot}@{lot.context}; "
                            f"will timeout back to {parkerDevice(parker)} in {call.timeout:g} seconds")
        self._emit("ParkedCall", call)
        self._changed(call)
        outcome = await self._wait(call, "s" not in options)
        if outcome == "hangup" or channel.hangupRequested:
            self._leave(call)
            self._emit("ParkedCallGiveUp", call)
            raise ChannelHungUp(channel.name)
        if outcome == "timeout":
            self._leave(call)
            self._emit("ParkedCallTimeOut", call)
            await self._comeBack(call)
            return
        await call.finished
        if not channel.hangupRequested:
            raise ApplicationHangup(HangupCause.NORMAL_CLEARING)
        raise ChannelHungUp(channel.name)

    def _leave(self, call):
        if self.parked.get((call.lot.name, call.slot)) is call:
            del self.parked[(call.lot.name, call.slot)]
            self._changed(call)

    async def _wait(self, call, announce):
        """Hold music until a retriever, the timeout or a hangup wakes the call."""
        channel = call.parkee
        holding = defer.Deferred.fromCoroutine(self._hold(channel, call, announce))

        def held(result):
            if not call.wake.called:
                call.wake.callback("hangup")

        holding.addBoth(held)
        timer = None
        if call.timeout > 0:
            timer = self.pbx.reactor.callLater(
                call.timeout,
                lambda: call.wake.called or call.wake.callback("timeout"))
        outcome = await call.wake
        if timer is not None and timer.active():
            timer.cancel()
        holding.cancel()
        return outcome

    async def _hold(self, channel, call, announce):
        if announce:
            await sayDigits(channel, str(call.slot))
        moh = self._moh()
        if moh is None or not await moh.play(channel, call.lot.parkedmusicclass):
            await channel.whenHungUp()

    def _moh(self):
        loader = getattr(self.pbx, "loader", None)
        entry = loader.modules.get("res_musiconhold") if loader is not None else None
        return getattr(entry, "module", None)

    async def _comeBack(self, call):
        channel = call.parkee
        lot = call.lot
        device = parkerDevice(call.parker)
        if lot.comebacktoorigin and device and device != parkerDevice(channel.name):
            channel.setVariable("PARKINGSLOT", str(call.slot))
            dial = self.pbx.registry("application").get("Dial")
            if dial is not None:
                await defer.maybeDeferred(dial.execute, channel,
                                          f"{device},{int(lot.comebackdialtime)}")
                return
        dialplan = getattr(self.pbx, "dialplan", None)
        if dialplan is not None and dialplan.exists(lot.comebackcontext, "s", 1):
            channel.goto(lot.comebackcontext, "s", 1)

    # -- ParkedCall() ----------------------------------------------------------

    async def parkedCall(self, channel, data):
        args = splitArgs(data or "")
        lotName = args[0].strip() if args else ""
        slotText = args[1].strip() if len(args) > 1 else ""
        lot = self.lotFor(channel, lotName)
        if lot is None:
            log.warn("ParkedCall: no parking lot {name}", name=lotName)
            raise ApplicationHangup(HangupCause.NORMAL_CLEARING)
        call = self.find(lot, int(slotText) if slotText.isdigit() else None)
        if call is None or call.wake.called:
            self.pbx.verbose(3, f"ParkedCall: nothing parked at {slotText or 'any slot'}"
                                f"@{lot.name}")
            raise ApplicationHangup(HangupCause.NORMAL_CLEARING)
        self._leave(call)
        call.wake.callback(channel)
        if channel.state != ChannelState.UP:
            await channel.answer()
        self.pbx.emitEvent("UnParkedCall", call.fields(self.now()) + channelFields(
            channel, "Retriever"), "call")
        bridge = Bridge(self.pbx)
        try:
            leaver = await bridge.run(channel, call.parkee)
        finally:
            if not call.finished.called:
                call.finished.callback(None)
        if leaver is call.parkee or call.parkee.hangupRequested:
            await call.parkee.hangup()
            raise ApplicationHangup(HangupCause.NORMAL_CLEARING)
        raise ChannelHungUp(channel.name)

    # -- manager ---------------------------------------------------------------

    def managerPark(self, session, request):
        name = required(request, "Channel")
        channel = self.pbx.channels.get(name)
        if channel is None:
            raise ManagerError("Channel specified does not exist")
        lot = self.lotFor(channel, request.get("Parkinglot") or "")
        if lot is None:
            raise ManagerError("Requested parking lot does not exist")
        timeoutChannel = (request.get("TimeoutChannel") or "").strip()
        if timeoutChannel:
            channel.setVariable("PARKER", timeoutChannel)
        timeout = (request.get("Timeout") or "").strip()
        if timeout:
            if not timeout.isdigit():
                raise ManagerError("Timeout must be a number of milliseconds")
            channel.setVariable("PARKINGTIMEOUT", str(int(timeout) / 1000.0))
        space = (request.get("ParkingSpace") or "").strip()
        if space:
            channel.setVariable("PARKINGEXTEN", space)
        channel.setVariable("PARKINGLOT", lot.name)
        redirect = getattr(channel.technology, "redirect", None)
        if redirect is None or redirect(channel, lot.context, lot.parkext) is False:
            raise ManagerError("Park action failed")
        return Success("Park successful")

    def managerParkedCalls(self, session, request):
        wanted = (request.get("ParkingLot") or "").strip().lower()
        now = self.now()
        events = [("ParkedCall", call.fields(now))
                  for call in sorted(self.parked.values(), key=lambda c: (c.lot.name, c.slot))
                  if not wanted or call.lot.name.lower() == wanted]
        return ListResponse(events, "ParkedCallsComplete", "Parked calls will follow",
                            completeFields=(("Total", str(len(events))),))

    def managerParkinglots(self, session, request):
        events = [("Parkinglot", (("Name", lot.name), ("StartSpace", str(lot.parkposStart)),
                                  ("StopSpace", str(lot.parkposEnd)),
                                  ("Timeout", str(int(lot.parkingtime)))))
                  for lot in self.lots.values()]
        return ListResponse(events, "ParkinglotsComplete", "Parking lots will follow")


@implementer(ICLICommand)
class ParkedCallsShow:
    """C{parkedcalls show [lot]}: the lots and what is parked in them."""

    name = "parkedcalls show"
    summary = "List currently parked calls"
    usage = "Usage: parkedcalls show [<PARKINGLOT>]\n       List currently parked calls"

    def __init__(self, module):
        self.module = module

    def execute(self, pbx, args):
        if len(args) > 1:
            raise CLIUsageError(self.usage)
        module = self.module
        lots = [lot for lot in module.lots.values()
                if not args or lot.name.lower() == args[0].lower()]
        if args and not lots:
            return f"Could not find parking lot '{args[0]}'\n"
        now = module.now()
        lines = []
        for lot in lots:
            lines += [
                f"Parking Lot: {lot.name}",
                "-" * 60,
                f"Parking Extension           :  {lot.parkext}",
                f"Parking Context             :  {lot.context}",
                f"Parking Spaces              :  {lot.parkposStart}-{lot.parkposEnd}",
                f"Parking Time                :  {lot.parkingtime:g} sec",
                f"Comeback to Origin          :  {'yes' if lot.comebacktoorigin else 'no'}",
                f"Comeback Context            :  {lot.comebackcontext}",
                f"Comeback Dial Time          :  {lot.comebackdialtime:g} sec",
                f"MusicOnHold Class           :  {lot.parkedmusicclass}",
                "",
                "Parked Calls",
                "------------",
            ]
            calls = sorted((c for (name, _), c in module.parked.items() if name == lot.name),
                           key=lambda c: c.slot)
            for call in calls:
                lines.append(f"  Space: {call.slot:<6} Channel: {call.parkee.name:<28} "
                             f"Parker: {call.parker:<28} Duration: {int(now - call.since)}s")
            if not calls:
                lines.append("  (none)")
            lines.append("")
        return "\n".join(lines) + "\n"
