"""
The device state engine keeps per-device counts of what its live channels
say; whatever the order of channel events, the state it reports is the one
a fresh aggregation over the live channels gives.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from pbxcore.store.astdb import AstDB
from pbxcore.devicestate.aggregation import (
    DeviceState,
    aggregateDeviceStates,
    channelToDeviceState,
    deviceOfChannel,
)
from pbxcore.devicestate.engine import DeviceStateEngine
from tests.shell.store.fakes import HintDialplan, StorePBX

CHANNELS = [f"SIP/{peer}-0000000{n}" for peer in ("1001", "1002") for n in range(3)]
DEVICES = ("SIP/1001", "SIP/1002")

action = st.tuples(st.sampled_from(["Newchannel", "Newstate", "Hold", "Unhold", "Hangup", "Rename"]),
                   st.sampled_from(CHANNELS), st.sampled_from([0, 4, 5, 6, 7, 9]),
                   st.sampled_from(CHANNELS))


def expected(live, device):
    states = [channelToDeviceState(state, hold) for name, (state, hold) in live.items()
              if deviceOfChannel(name) == device]
    # No technology registered for SIP in this PBX: no channels is INVALID.
    return aggregateDeviceStates(states) if states else DeviceState.INVALID


@settings(max_examples=150, deadline=None)
@given(st.lists(action, max_size=40))
def test_countsMatchAFreshAggregation(actions):
    pbx = StorePBX(astdb=AstDB(None), dialplan=HintDialplan({}))
    engine = DeviceStateEngine(pbx)
    live = {}
    for name, channel, state, other in actions:
        if name == "Newchannel":
            pbx.feed(name, Channel=channel, ChannelState=str(state))
            live[channel] = (state, False)
        elif name == "Newstate":
            pbx.feed(name, Channel=channel, ChannelState=str(state))
            if channel in live:
                live[channel] = (state, live[channel][1])
        elif name in ("Hold", "Unhold"):
            pbx.feed(name, Channel=channel)
            if channel in live:
                live[channel] = (live[channel][0], name == "Hold")
        elif name == "Hangup":
            pbx.feed(name, Channel=channel)
            live.pop(channel, None)
        else:
            pbx.feed(name, Channel=channel, Newname=other)
            if channel in live:
                live[other] = live.pop(channel)
        for device in DEVICES:
            assert engine.deviceState(device) == expected(live, device), (device, live)
    engine.stop()
