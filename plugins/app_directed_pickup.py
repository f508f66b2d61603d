"""
Call pickup (Asterisk's app_directed_pickup and the core's group pickup).

Pickup() answers a call ringing a phone in one of the caller's pickup
groups (sip.conf C{pickupgroup}/C{namedpickupgroup} against the ringing
phone's C{callgroup}/C{namedcallgroup}); Pickup(exten[@context][&...])
the call ringing that extension (a channel dialled as that exten, or a
SIP/exten one); PickupChan(channel[&channel...][,p]) the ringing channel
of that name (C{p}: by name prefix). The sample dialplan runs Pickup() on
C{*8} (features.conf's pickupexten).

The picking channel takes the ringing channel's place (a masquerade): the
application that rings it (Dial) sees an answer from the picker and
bridges the caller to it; the ringing phone is cancelled
(ANSWERED_ELSEWHERE). As in Asterisk, the dialplan goes on after the
application only when there was nothing to pick up.
"""

from twisted.logger import Logger

from pbxcore.api import (
    ApplicationHangup,
    Channel,
    ChannelState,
    Control,
    FunctionApplication,
    HangupCause,
    Module,
    channelFields,
    splitArgs,
)
from pbxcore.bridge import masquerade
from pbxcore.pickupgroups import NO_GROUPS

log = Logger(namespace="plugins.app_directed_pickup")


def _ringing(pbx, picker):
    return [c for c in pbx.channels
            if c is not picker and c.state == ChannelState.RINGING
            and not c.hangupRequested and c.driver is not None and c.bridge is None]


def _oldest(channels):
    return min(channels, key=lambda c: c.creationTime) if channels else None


def findGroupTarget(pbx, picker):
    """The longest-ringing channel the picker's groups may pick up."""
    # Drivers set a channel's groups (SIP: sip.conf callgroup, pickupgroup...).
    groups = getattr(picker, "groups", NO_GROUPS)
    return _oldest([c for c in _ringing(pbx, picker)
                    if groups.canPickUp(getattr(c, "groups", NO_GROUPS))])


def findExtensionTarget(pbx, picker, spec):
    """The ringing channel of exten[@context] (each of '&'-joined targets, in turn)."""
    for target in spec.split("&"):
        exten, _, context = target.strip().partition("@")
        if not exten:
            continue
        found = [c for c in _ringing(pbx, picker)
                 if (c.exten == exten and (not context or c.context == context))
                 or c.name.split("-")[0].partition("/")[2] == exten]
        if found:
            return _oldest(found)
    return None


def findChannelTarget(pbx, picker, spec, partial):
    for target in spec.split("&"):
        target = target.strip()
        if not target:
            continue
        found = [c for c in _ringing(pbx, picker)
                 if c.name == target or (partial and c.name.startswith(target))
                 or (not partial and c.name.rpartition("-")[0] == target)]
        if found:
            return _oldest(found)
    return None


async def pickUp(pbx, picker, target):
    """
    C{picker} answers the call that rings C{target}: the ringing leg is
    cancelled and the picker's call takes the target channel's place.
    """
    pbx.emitEvent("Pickup", channelFields(picker) + channelFields(target, "Target"), "call")
    # The ringing leg moves to a throw-away channel object and is hung up
    # there; the target object, which Dial watches, takes the picker's call.
    ringing = Channel(pbx, target.name + "<PICKUP>", target.technology, None,
                      state=target.state, context=target.context, exten=target.exten)
    masquerade(ringing, target)
    masquerade(target, picker)
    ringing.hangupCause = HangupCause.ANSWERED_ELSEWHERE
    await ringing.hangup(HangupCause.ANSWERED_ELSEWHERE)
    await target.answer()
    target.controlReceived(Control.ANSWER)


class DirectedPickupModule(Module):
    """app_directed_pickup: Pickup() and PickupChan()."""

    def load(self, pbx, registrar):
        self.pbx = pbx
        registrar.register("application", FunctionApplication(
            "Pickup", self.pickup, "Directed extension call pickup."))
        registrar.register("application", FunctionApplication(
            "PickupChan", self.pickupChan, "Pickup a ringing channel."))

    async def pickup(self, channel, data):
        spec = (data or "").strip()
        target = (findExtensionTarget(self.pbx, channel, spec) if spec
                  else findGroupTarget(self.pbx, channel))
        await self._take(channel, target, spec or "group")

    async def pickupChan(self, channel, data):
        args = splitArgs(data or "")
        spec = args[0].strip() if args else ""
        partial = len(args) > 1 and "p" in args[1]
        await self._take(channel, findChannelTarget(self.pbx, channel, spec, partial), spec)

    async def _take(self, channel, target, what):
        if target is None:
            self.pbx.verbose(3, f"No ringing channel for {channel.name} to pick up ({what})")
            return
        self.pbx.verbose(3, f"{channel.name} picks up {target.name}")
        await pickUp(self.pbx, channel, target)
        # The picker's call lives on in the target's place; what is left here
        # has no driver and ends quietly.
        raise ApplicationHangup(HangupCause.NORMAL_CLEARING)
