"""
Office-feature end-to-end support: a real C{twistd -n pbx} on a copy of the
shipped etc/ (ports rewritten only, L{tests.sample.copySample}), real
baresip phones registered with the sample's accounts and driven through
baresip's ctrl_tcp, and panoramisk (a manager client nobody on this
project wrote) collecting every event, all from one asyncio loop.

Each phone plays a tone from a WAV file (aufile) and baresip's sndfile
records what it decoded, one file per call, to tell who heard whom.
"""

import asyncio
import glob
import json
import os
import shutil
import tempfile
import wave
from array import array

from pbxcore.media.sounds import tone
from pbxcore.media.wav import writeWav
from tests.ami import PATIENCE
from tests.sipp import baresipPorts
from tests.e2e.media.support import dominantFrequency
from tests.e2e.media.test_softphones import BARESIP_CONFIG, baresipPath
from tests.pbxprocess import PBXProcess, cleanup
from tests.sample import copySample

#: The sample's phones (etc/sip.conf), their secrets, and the tone each plays.
PHONES = {"1001": ("change-me-1001", 1000), "1002": ("change-me-1002", 700),
          "1003": ("change-me-1003", 1300)}
TONES = (400, 700, 1000, 1300, 2000)


class Phone:
    """A baresip process registered as one of the sample's phones."""

    def __init__(self, base, name, pbxPort, rtpRange, answermode="auto"):
        secret, self.frequency = PHONES[name]
        self.name = name
        self.folder = os.path.join(base, name)
        self.dump = os.path.join(self.folder, "dump")
        os.makedirs(self.dump)
        source = os.path.join(self.folder, "tone.wav")
        with open(source, "wb") as f:
            f.write(writeWav("slin", tone((self.frequency,), 8000, 8000)))
        sipPort, self.ctrlPort = baresipPorts()
        with open(os.path.join(self.folder, "config"), "w") as f:
            f.write(BARESIP_CONFIG.format(
                sipPort=sipPort, name=name, source=f"aufile,{source}",
                rtpStart=rtpRange[0], rtpEnd=rtpRange[1], ctrlPort=self.ctrlPort,
                dump=self.dump))
        auth = f";auth_pass={secret}" if secret else ""
        with open(os.path.join(self.folder, "accounts"), "w") as f:
            f.write(f"<sip:{name}@127.0.0.1:{pbxPort};transport=udp>{auth};"
                    f"regint=60;answermode={answermode};audio_codecs=PCMU\n")
        self.pbxPort = pbxPort
        self.process = None
        self.output = bytearray()

    async def start(self):
        self.process = await asyncio.create_subprocess_exec(
            baresipPath(), "-f", self.folder, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self):
        while True:
            data = await self.process.stdout.read(4096)
            if not data:
                return
            self.output += data

    def text(self):
        return self.output.decode("utf-8", "replace")

    async def command(self, name, params=""):
        """One ctrl_tcp command, answered before it returns."""
        for attempt in range(100):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.ctrlPort)
                break
            except ConnectionRefusedError:
                if attempt == 99:
                    raise AssertionError(f"{self.name}: ctrl_tcp never listened:\n{self.text()}")
                await asyncio.sleep(0.1)
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        writer.write(str(len(body)).encode() + b":" + body + b",")
        answer = b""
        try:
            while b'"response"' not in answer:
                data = await asyncio.wait_for(reader.read(4096), PATIENCE)
                if not data:
                    break
                answer += data
        finally:
            writer.close()
        return answer

    async def dial(self, exten):
        return await self.command("dial", f"sip:{exten}@127.0.0.1:{self.pbxPort}")

    async def stop(self):
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()

    def recordings(self):
        """The closed decoded recordings, oldest first (sndfile writes the header last)."""
        files = sorted(glob.glob(os.path.join(self.dump, "*-dec.wav")), key=os.path.getmtime)
        closed = []
        for name in files:
            try:
                with wave.open(name, "rb") as f:
                    closed.append((name, array("h", f.readframes(f.getnframes()))))
            except (wave.Error, EOFError):
                pass
        return closed


def tonePowers(samples, start=0, length=8000):
    """The Goertzel powers of the test tones over one second from C{start}."""
    window = samples[start:start + length]
    return dominantFrequency(window, TONES)[1]


def heard(samples, frequency, others=()):
    """Whether C{frequency} stands out over most of C{samples} (1 s windows)."""
    hits = 0
    windows = 0
    for start in range(0, len(samples) - 8000, 8000):
        powers = tonePowers(samples, start)
        windows += 1
        quiet = max([powers[o] for o in others] + [1.0])
        if powers[frequency] > 20 * quiet and powers[frequency] > 1e9:
            hits += 1
    return windows, hits


class Office:
    """The PBX subprocess, the phones and a panoramisk manager with every event."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="txpbx-office-")
        self.etc, self.ports = copySample(self.base)
        self.pbx = None
        self.manager = None
        self.events = []
        self.phones = {}

    async def start(self, *names, manual=()):
        from panoramisk import Manager
        self.pbx = PBXProcess(self.etc).start()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.pbx.waitBooted, PATIENCE)
        await loop.run_in_executor(None, self.pbx.waitFor,
                                   rf"manager listening on 127\.0\.0\.1:{self.ports.manager}\b",
                                   PATIENCE)
        self.manager = Manager(host="127.0.0.1", port=self.ports.manager, username="admin",
                               secret="change-me-please", ping_delay=60, loop=loop)
        self.manager.register_event("*", lambda manager, event: self.events.append(dict(event)))
        await asyncio.wait_for(self.manager.connect(), PATIENCE)
        for index, name in enumerate(names):
            start = 36000 + 200 * index
            phone = self.phones[name] = Phone(self.base, name, self.ports.sip, (start, start + 100),
                                              "manual" if name in manual else "auto")
            await phone.start()
        await self.waitFor(lambda: all(
            self.event("PeerStatus", Peer=f"SIP/{n}", PeerStatus="Registered")
            for n in names if PHONES[n][0]), "phones registered")

    def event(self, name, **fields):
        """The events called C{name} with C{fields}, in order."""
        return [e for e in self.events if e.get("Event") == name
                and all(e.get(k) == v for k, v in fields.items())]

    async def waitFor(self, predicate, what, timeout=PATIENCE):
        """Poll C{predicate}; on failure say what the phones and the PBX printed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(
                    f"{what}: never happened\nevents: {[e.get('Event') for e in self.events]}\n"
                    + "\n".join(f"--- {p.name}:\n{p.text()[-1500:]}" for p in self.phones.values())
                    + "\n--- pbx:\n" + self.pbx.output[-4000:])
            await asyncio.sleep(0.05)

    async def action(self, **fields):
        return await asyncio.wait_for(self.manager.send_action(fields), PATIENCE)

    async def command(self, line):
        return await asyncio.wait_for(self.manager.send_command(line), PATIENCE)

    async def channels(self):
        """The live channel names (CoreShowChannels)."""
        result = await self.action(Action="CoreShowChannels")
        items = result if isinstance(result, list) else [result]
        return [m.get("Channel") for m in items if m.get("Event") == "CoreShowChannel"]

    async def stop(self):
        for phone in self.phones.values():
            await phone.stop()
        if self.manager is not None:
            self.manager.close()
        status = None
        if self.pbx is not None:
            loop = asyncio.get_running_loop()
            status = await loop.run_in_executor(None, self.pbx.stop)
        return status

    def close(self):
        if self.pbx is not None:
            self.pbx.kill()
        cleanup(self.etc)
        shutil.rmtree(self.base, ignore_errors=True)


def run(scenario, *names, manual=()):
    """
    Run C{scenario(office)} with the phones C{names} (those in C{manual}
    do not answer by themselves); the PBX must stop cleanly.
    """
    office = Office()

    async def main():
        try:
            await office.start(*names, manual=manual)
            await scenario(office)
        finally:
            status = await office.stop()
        assert status == 0, office.pbx.output[-4000:]
        assert "Traceback" not in office.pbx.output, office.pbx.output

    try:
        asyncio.run(main())
    finally:
        office.close()
