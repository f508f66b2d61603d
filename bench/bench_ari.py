"""
ARI benchmark: a real C{twistd -n pbx} subprocess on a copy of the shipped
etc/ (ports rewritten to 0), a WebSocket client and an HTTP client on
loopback.

1. Originate-to-StasisStart: sequential C{POST /ari/channels} of
   Local/100@default into the application (the ;2 half answers and echoes);
   the time from the request leaving to the StasisStart event arriving on
   the WebSocket; each channel is then hung up (DELETE).
2. Events per second to a connected application while calls run: the
   application subscribes to everything (subscribeAll=true) while CALLS
   calls run CONCURRENT at a time, originated over ARI into a dialplan
   added to the copy for this benchmark (Local/900@bench: Answer, a While
   loop of 50 Set() steps, Hangup; both halves run it), so that the event
   rate is the PBX's and not a prompt's length; prints the events the
   application received per second of the run.

    python bench/bench_ari.py [--originates 200] [--calls 400] [--concurrent 40]
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import anyio  # noqa: E402
import httpx  # noqa: E402
from asyncwebsockets import create_websocket  # noqa: E402
from wsproto.events import TextMessage  # noqa: E402

from tests.e2e.http.support import httpPort, rewrite, shippedEtc  # noqa: E402
from tests.pbxprocess import PBXProcess, cleanup  # noqa: E402

USER, PASSWORD = "asterisk", "change-me-ari"


class Listener:
    """Reads the WebSocket; counts events and wakes waiters for StasisStart."""

    def __init__(self, ws):
        self.ws = ws
        self.count = 0
        self.kinds = {}
        self.started = {}
        self.waiting = {}

    async def run(self):
        async for message in self.ws:
            if not isinstance(message, TextMessage):
                continue
            event = json.loads(message.data)
            self.count += 1
            kind = event["type"]
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if kind == "StasisStart":
                ident = event["channel"]["id"]
                self.started[ident] = time.perf_counter()
                waiter = self.waiting.pop(ident, None)
                if waiter is not None:
                    waiter.set()
            elif kind == "ChannelDestroyed":
                waiter = self.waiting.pop(event["channel"]["id"], None)
                if waiter is not None:
                    waiter.set()


async def connect(base, port, app, subscribeAll=False):
    url = (f"ws://127.0.0.1:{port}/ari/events?app={app}&api_key={USER}:{PASSWORD}"
           + ("&subscribeAll=true" if subscribeAll else ""))
    return Listener(await create_websocket(url))


async def latency(base, port, count):
    listener = await connect(base, port, "bench")
    samples = []
    async with anyio.create_task_group() as tg, httpx.AsyncClient(
            base_url=f"{base}/ari", auth=(USER, PASSWORD), timeout=30) as http:
        tg.start_soon(listener.run)
        for n in range(count):
            ident = f"bench-{n}"
            done = anyio.Event()
            listener.waiting[ident] = done
            start = time.perf_counter()
            r = await http.post("/channels", params={
                "endpoint": "Local/100@default", "app": "bench", "channelId": ident})
            r.raise_for_status()
            with anyio.fail_after(30):
                await done.wait()
            samples.append((listener.started[ident] - start) * 1000)
            await http.delete(f"/channels/{ident}")
        tg.cancel_scope.cancel()
    await listener.ws.close()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


async def eventRate(base, port, calls, concurrent):
    listener = await connect(base, port, "watcher", subscribeAll=True)
    slots = anyio.Semaphore(concurrent)
    async with httpx.AsyncClient(base_url=f"{base}/ari", auth=(USER, PASSWORD),
                                 timeout=60) as http:
        async def call(n):
            async with slots:
                done = listener.waiting[f"load-{n}"] = anyio.Event()
                r = await http.post("/channels", params={
                    "endpoint": "Local/900@bench", "extension": "900",
                    "context": "bench", "channelId": f"load-{n}"})
                r.raise_for_status()
                with anyio.fail_after(60):
                    await done.wait()

        async with anyio.create_task_group() as outer:
            outer.start_soon(listener.run)
            startCount, start = listener.count, time.perf_counter()
            async with anyio.create_task_group() as tg:
                for n in range(calls):
                    tg.start_soon(call, n)
            elapsed = time.perf_counter() - start
            received = listener.count - startCount
            outer.cancel_scope.cancel()
    await listener.ws.close()
    return received, elapsed, listener.kinds


BENCH_DIALPLAN = """
[bench]
exten => 900,1,Answer()
 same => n,Set(I=0)
 same => n,While($[${I} < 50])
 same => n,Set(I=$[${I} + 1])
 same => n,EndWhile()
 same => n,Hangup()
"""


def addBenchDialplan(etc):
    with open(os.path.join(etc, "extensions.conf"), "a") as f:
        f.write(BENCH_DIALPLAN)
    # The Python client shares two cores with the PBX: give it 5 s, not the
    # sample's 100 ms, before a backed-up WebSocket is dropped.
    rewrite(etc, "ari.conf", r"(?m)^websocket_write_timeout = \d+", "websocket_write_timeout = 5000")


def cpuSeconds(pid):
    """User + system CPU seconds of process C{pid} so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--originates", type=int, default=200)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrent", type=int, default=40)
    args = parser.parse_args()
    etc = shippedEtc(addBenchDialplan)
    pbx = PBXProcess(etc).start()
    try:
        pbx.waitBooted(60)
        port = httpPort(pbx)
        base = f"http://127.0.0.1:{port}"
        median, p95 = anyio.run(latency, base, port, args.originates)
        print(f"originate to StasisStart ({args.originates} sequential, Local/100@default): "
              f"median {median:.2f} ms, p95 {p95:.2f} ms")
        before = cpuSeconds(pbx.process.pid)
        received, elapsed, kinds = anyio.run(eventRate, base, port, args.calls,
                                             args.concurrent)
        cpu = cpuSeconds(pbx.process.pid) - before
        print(f"events to a subscribeAll application while {args.calls} calls ran "
              f"({args.concurrent} at a time, {elapsed:.1f} s): {received} events, "
              f"{received / elapsed:,.0f} events/s wall clock, "
              f"{received / cpu:,.0f} per PBX CPU-second ({cpu:.1f} s of CPU)")
        print("  by type: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        pbx.stop()
    finally:
        pbx.kill()
        cleanup(etc)


if __name__ == "__main__":
    main()
