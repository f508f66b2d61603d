"""The Type of a channel, in Status and `core show channel`, is its technology's name."""

from pbxcore.console import clicommands
from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan
from plugins.chan_local import LocalChannelModule

from .managerfakes import Client, makeManager


def test_status_and_core_show_channel_name_the_technology(tmp_path):
    pbx, module = makeManager(tmp_path)
    clicommands.register(pbx.registrar("core"))
    pbx.loadModule(LocalChannelModule(), "chan_local")
    pbx.dialplan = parseDialplan(parseText(
        "[default]\nexten => 1,1,Answer()\n same => n,Wait(30)\n", "extensions.conf"))
    channel = pbx.requestChannel("Local", "1@default")
    client = Client(module)
    client.login()
    client.read()
    client.send(Action="Status", Channel=channel.name, ActionID="st")
    [item] = [m for m in client.read() if m.get("Event") == "Status"]
    assert item.get("Type") == "Local"
    output = []
    clicommands.runCommand(pbx, f"core show channel {channel.name}").addBoth(output.append)
    [line] = [line for line in output[0].splitlines() if line.strip().startswith("Type:")]
    assert line.split(":", 1)[1].strip() == "Local"
