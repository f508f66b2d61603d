"""
pbx.conf's systemname on the manager: two real C{twistd -n pbx} nodes (the
shipped etc/, one as shipped with systemname txpbx, one with its systemname
changed: the point is two nodes told apart) watched by one real AMI client
(panoramisk) per node in one program; every broadcast event carries
C{SystemName}, and uniqueids are prefixed with it, as Asterisk does.
"""

import asyncio
import os
import re
import time

from tests.ami import PATIENCE
from tests.pbxprocess import PBXProcess, cleanup
from tests.sample import copySample

SECRET = "change-me-please"  # the shipped manager.conf's admin


def startNode(systemName=None):
    etc, ports = copySample()
    if systemName is not None:
        path = os.path.join(etc, "pbx.conf")
        with open(path) as f:
            text = f.read()
        text, n = re.subn(r"(?m)^systemname\s*=.*$", f"systemname = {systemName}", text)
        assert n == 1
        with open(path, "w") as f:
            f.write(text)
    process = PBXProcess(etc).start()
    process.etc = etc
    process.waitBooted(PATIENCE)
    process.waitFor(rf"manager listening on 127\.0\.0\.1:{ports.manager}\b", PATIENCE)
    process.port = ports.manager
    return process


def test_events_of_two_nodes_carry_their_system_names():
    from panoramisk import Manager

    nodes = [startNode(), startNode("node2")]

    async def watch():
        events = []
        managers = []
        for node in nodes:
            manager = Manager(host="127.0.0.1", port=node.port, username="admin",
                              secret=SECRET, ping_delay=PATIENCE * 10)
            manager.register_event("Newchannel", lambda m, e: events.append(e))
            await asyncio.wait_for(manager.connect(), PATIENCE)
            managers.append(manager)
        try:
            for manager in managers:
                result = await asyncio.wait_for(manager.send_action({
                    "Action": "Originate", "Channel": "Local/101@default",
                    "Application": "Wait", "Data": "0", "Async": "true"}), PATIENCE)
                assert result[0].response == "Success"
            deadline = time.monotonic() + PATIENCE
            while time.monotonic() < deadline and len({e.SystemName for e in events}) < 2:
                await asyncio.sleep(0.05)
            return events
        finally:
            for manager in managers:
                manager.close()

    try:
        events = asyncio.run(watch())
        names = {e.SystemName for e in events}
        assert names == {"txpbx", "node2"}, [dict(e) for e in events]
        for event in events:
            assert event.Uniqueid.startswith(f"{event.SystemName}-"), dict(event)
        for node in nodes:
            assert node.stop() == 0, node.output
            assert "Traceback" not in node.output, node.output
    finally:
        for node in nodes:
            node.kill()
            cleanup(node.etc)
