"""
Manager benchmark: a real C{twistd -n pbx} subprocess on loopback.

1. Event fan-out: 50 logged-in sessions (read = all) while calls run:
   CALLS originates of Local/100@default (Answer, Wait, Hangup) in waves;
   prints the events delivered per second summed over all sessions.
2. Originate round trip: sequential async Originate of Local/300@default
   (Answer, Hangup); prints median and p95 from the request leaving to its
   OriginateResponse arriving.

    python bench/bench_manager.py [--sessions 50] [--calls 200] [--originates 100]
"""

import argparse
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.pbxprocess import PBXProcess, cleanup, makeConfigDir  # noqa: E402

MANAGER_CONF = """\
[general]
enabled = yes
port = 0
bindaddr = 127.0.0.1
authlimit = 200

[bench]
secret = bench
read = all
write = all
writetimeout = 5000
"""

EXTENSIONS = """\
[default]
exten => 100,1,Answer()
 same => n,Wait(0.2)
 same => n,Hangup()
exten => 300,1,Answer()
 same => n,Hangup()
"""

MODULES = "[modules]\nautoload = no\nload => manager\nload => pbx_config\nload => chan_local\n"


class Session:
    """A raw manager connection counting the events it receives."""

    def __init__(self):
        self.events = 0
        self.waiters = {}
        self.hangups = 0

    async def open(self, port):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        await self.reader.readline()
        self.send({"Action": "Login", "Username": "bench", "Secret": "bench"})
        while True:
            message = await self.readMessage()
            if message.get("Response"):
                assert message.get("Message") == "Authentication accepted", message
                break
        self.task = asyncio.ensure_future(self.loop())
        return self

    def send(self, fields):
        data = "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        self.writer.write(data.encode())

    async def readMessage(self):
        data = await self.reader.readuntil(b"\r\n\r\n")
        message = {}
        for line in data.decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(": ")
            if sep:
                message.setdefault(key, value)
        return message

    async def loop(self):
        try:
            while True:
                message = await self.readMessage()
                if "Event" in message:
                    self.events += 1
                    if message["Event"] == "Hangup":
                        self.hangups += 1
                    if message["Event"] == "OriginateResponse":
                        waiter = self.waiters.pop(message.get("ActionID"), None)
                        if waiter is not None and not waiter.done():
                            waiter.set_result(time.perf_counter())
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass

    def close(self):
        self.task.cancel()
        self.writer.close()


async def fanout(port, sessions, calls, wave=50):
    clients = [await Session().open(port) for _ in range(sessions)]
    driver = clients[0]
    await asyncio.sleep(0.5)
    for c in clients:
        c.events = 0
        c.hangups = 0
    start = time.perf_counter()
    sent = 0
    while sent < calls:
        for i in range(min(wave, calls - sent)):
            driver.send({"Action": "Originate", "Channel": "Local/100@default",
                         "Application": "Wait", "Data": "0.2", "Async": "true",
                         "ActionID": f"f{sent + i}"})
        sent += min(wave, calls - sent)
        target = sent * 2  # two Local halves hang up per call
        while driver.hangups < target:
            await asyncio.sleep(0.01)
    # wait until every session has seen every hangup
    while min(c.hangups for c in clients) < calls * 2:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    total = sum(c.events for c in clients)
    for c in clients:
        c.close()
    return total, elapsed


async def roundtrip(port, count):
    client = await Session().open(port)
    times = []
    for i in range(count):
        actionID = f"rt{i}"
        waiter = asyncio.get_running_loop().create_future()
        client.waiters[actionID] = waiter
        t0 = time.perf_counter()
        client.send({"Action": "Originate", "Channel": "Local/300@default",
                     "Context": "default", "Exten": "300", "Priority": "1",
                     "Async": "true", "ActionID": actionID})
        t1 = await asyncio.wait_for(waiter, 30)
        times.append(t1 - t0)
    client.close()
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--originates", type=int, default=100)
    args = parser.parse_args()
    etc = makeConfigDir({"manager.conf": MANAGER_CONF, "extensions.conf": EXTENSIONS,
                         "modules.conf": MODULES, "pbx.conf": "[options]\nverbose = 0\n"})
    pbx = PBXProcess(etc).start()
    try:
        pbx.waitBooted(60)
        port = int(pbx.waitFor(r"manager listening on 127\.0\.0\.1:(\d+)").group(1))
        total, elapsed = asyncio.run(fanout(port, args.sessions, args.calls))
        print(f"fan-out: {args.sessions} sessions, {args.calls} Local calls: "
              f"{total} events delivered in {elapsed:.2f} s = {total / elapsed:,.0f} events/s")
        times = asyncio.run(roundtrip(port, args.originates))
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"Originate round trip (Local/300, Answer+Hangup), {len(times)} sequential: "
              f"median {statistics.median(times) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms")
        pbx.stop()
    finally:
        pbx.kill()
        cleanup(etc)


if __name__ == "__main__":
    main()
