"""
Attended transfer for the manager's Atxfer and CancelAtxfer.

The transferer (Channel) and the party it is bridged with are taken away
from their bridge (L{pbxcore.bridge.pullOut}); the transferee is put on
hold and the transferer calls Exten@Context through a Local channel. Once
that answers the two talk in a consultation bridge. Then:

  - the transferer hangs up: the transfer completes, the transferee and
    the target are bridged (C{AttendedTransfer} with Result Success);
  - the target hangs up, does not answer, or CancelAtxfer: the transferer
    goes back to the transferee.

Every party still up when its last bridge ends is hung up.
"""

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.bridge import Bridge, BridgeRegistry, pullOut
from pbxcore.channel import channelFields
from pbxcore.errors import ChannelHungUp, ChannelUnavailable
from pbxcore.frame import Control

log = Logger()

#: Seconds the transfer target may ring.
RING_TIMEOUT = 30.0


def transfers(pbx):
    """Attended transfers in progress, by transferer channel object."""
    registry = BridgeRegistry.of(pbx)
    table = getattr(registry, "transfers", None)
    if table is None:
        table = registry.transfers = {}
    return table


async def _indicate(channel, control):
    try:
        await channel.indicate(control)
    except (ChannelHungUp, Exception):
        pass


class AttendedTransfer:
    """One transfer, from taking the parties over to the last hangup."""

    def __init__(self, pbx, transferer, transferee, context, exten):
        self.pbx = pbx
        self.transferer, self.transferee = pullOut(transferer, transferee)
        self.context = context
        self.exten = exten
        self.target = None
        self.consultation = None
        self.cancelled = False

    def start(self):
        transfers(self.pbx)[self.transferer] = self
        d = defer.Deferred.fromCoroutine(self.run())
        d.addErrback(lambda f: log.failure("attended transfer of {channel}", f,
                                           channel=self.transferer.name))
        return d

    def cancel(self):
        """CancelAtxfer: drop the target, back to the transferee."""
        self.cancelled = True
        target = self.target
        if target is not None and not target.hangupRequested:
            target.softHangup(source="CancelAtxfer")

    async def run(self):
        try:
            await _indicate(self.transferee, Control.HOLD)
            answered = await self._callTarget()
            if answered and not self.cancelled:
                self.consultation = Bridge(self.pbx, creator="Atxfer")
                await self.consultation.run(self.transferer, self.target)
            if answered and self.transferer.hangupRequested and not self.cancelled \
                    and not self.target.hangupRequested:
                await self._complete()
            else:
                await self._back()
        finally:
            transfers(self.pbx).pop(self.transferer, None)
            for channel in (self.transferer, self.transferee, self.target):
                if channel is not None and not channel.isHungUp:
                    await channel.hangup()

    async def _callTarget(self):
        from pbxcore.dialplan.engine import ORIGINATE_ANSWERED

        dest = f"{self.exten}@{self.context}"
        try:
            self.target = self.pbx.requestChannel("Local", dest, requestor=self.transferer)
        except ChannelUnavailable:
            return False
        self.target.owned = True
        try:
            await self.target.call(dest, RING_TIMEOUT)
            status = await self.pbx.engine.waitForAnswer(self.target, RING_TIMEOUT)
        except ChannelHungUp:
            return False
        return status == ORIGINATE_ANSWERED

    async def _complete(self):
        await _indicate(self.transferee, Control.UNHOLD)
        final = Bridge(self.pbx, creator="Atxfer")
        self._announce(final)
        await final.run(self.transferee, self.target)

    async def _back(self):
        if self.target is not None and not self.target.isHungUp:
            await self.target.hangup()
        if self.transferer.hangupRequested or self.transferee.hangupRequested:
            return
        await _indicate(self.transferee, Control.UNHOLD)
        await Bridge(self.pbx, creator="Atxfer").run(self.transferer, self.transferee)

    def _announce(self, bridge):
        events = getattr(self.pbx, "events", None)
        if events is not None and not events.wants("AttendedTransfer"):
            return
        fields = [("Result", "Success")] + channelFields(self.transferer, "OrigTransferer")
        fields += channelFields(self.transferer, "SecondTransferer")
        fields += [("DestType", "Bridge"), ("DestBridgeUniqueid", bridge.uniqueid)]
        fields += channelFields(self.transferee, "Transferee")
        fields += channelFields(self.target, "TransferTarget")
        self.pbx.emitEvent("AttendedTransfer", fields, "call")
