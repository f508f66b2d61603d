"""
SIPp for the end-to-end tests and the benchmarks: one place that finds the
binary, picks free loopback ports and builds the command line, with a
blocking run, a background run and a Deferred run on the reactor.

Everything SIPp does here is bound to 127.0.0.1 and to a count of calls;
the C{-timeout} given to SIPp is a liveness bound (a hung SIPp fails the
test instead of blocking CI), never an assertion about speed.
"""

import os
import shutil
import socket
import subprocess
import tempfile

MISSING = "sipp is not installed (Debian package sip-tester); these tests need it"


def sippPath() -> str:
    """The SIPp binary; fails the test with the package to install when absent."""
    path = shutil.which("sipp")
    if path is None:
        raise AssertionError(MISSING)
    return path


def freePort(kind=socket.SOCK_DGRAM) -> int:
    """
    A port on 127.0.0.1 that was free a moment ago (UDP unless C{kind} says
    otherwise): for a SIPp callee or media port, which SIPp cannot report
    back the way a port-0 listener in this process can.
    """
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindable(port, kind):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def baresipPorts(attempts=50):
    """
    (sip_listen port, ctrl_tcp port) for a baresip phone: baresip binds
    UDP and TCP on the SIP port and TLS on the next one, so all three must
    be free, and its control port must be none of them.
    """
    for _ in range(attempts):
        sip = freePort()
        if sip < 65535 and _bindable(sip, socket.SOCK_STREAM) and _bindable(sip + 1, socket.SOCK_STREAM):
            ctrl = freePort(socket.SOCK_STREAM)
            if ctrl not in (sip, sip + 1):
                return sip, ctrl
    raise RuntimeError("no free port triple for baresip on 127.0.0.1")


def sippArgs(scenario, target=None, *, service=None, transport="u1", localPort=0, calls=1,
             timeout=20, mediaPort=True, extra=()):
    """
    The SIPp command line playing C{scenario} (a path) from 127.0.0.1:C{localPort}
    (0: a free port) toward 127.0.0.1:C{target}, or as a callee without
    C{target}. C{mediaPort} gives SIPp a free media port instead of its
    fixed default, so that runs side by side do not collide.
    """
    if localPort == 0 and target is not None:
        # SIPp's own choice for -p 0 is 5060 when it is free, the port the
        # RFC 4475 conformance run and the sample need: take a free one.
        localPort = freePort()
    args = [sippPath(), "-sf", scenario, "-i", "127.0.0.1", "-p", str(localPort),
            "-m", str(calls), "-nostdin", "-timeout", f"{timeout}s", "-timeout_error"]
    if transport is not None:
        args += ["-t", transport]
    if mediaPort:
        args += ["-mp", str(freePort())]
    if service is not None:
        args += ["-s", service]
    args += list(extra)
    if target is not None:
        args.append(f"127.0.0.1:{target}")
    return args


def run(args, timeout=60, cwd=None):
    """Run SIPp to its end; (exit code, stdout and stderr)."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return result.returncode, result.stdout + result.stderr


def spawn(args, cwd=None) -> subprocess.Popen:
    """Start SIPp in the background; the Popen (stderr folded into stdout, text)."""
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL, cwd=cwd)


def finished(process, what, timeout=60):
    """Wait for a background SIPp; fail with the end of its output unless it exited 0."""
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"sipp {what} failed:\n{output[-3000:]}"
    return output


def stop(process):
    """End a background SIPp that is still running (its own PID only)."""
    if process.poll() is None:
        process.kill()
        process.wait()


def runDeferred(args, cwd=None):
    """
    Start SIPp from the reactor; a Deferred firing with (exit code, output),
    the code None when a signal ended it.
    """
    from twisted.internet import defer, protocol, reactor

    class Collect(protocol.ProcessProtocol):
        def __init__(self):
            self.output = []

        def outReceived(self, data):
            self.output.append(data)

        errReceived = outReceived

        def processEnded(self, reason):
            code = getattr(reason.value, "exitCode", None)
            done.callback((code, b"".join(self.output).decode("utf-8", "replace")))

    done = defer.Deferred()
    reactor.spawnProcess(Collect(), args[0], args, env=dict(os.environ), path=cwd)
    return done


def check(testCase, result, what):
    """Fail C{testCase} with SIPp's output unless the (code, output) C{result} is a success."""
    code, output = result
    if len(output) > 4000:
        output = f"{output[:1500]}\n...\n{output[-2500:]}"
    testCase.assertEqual(code, 0, f"sipp {what} failed:\n{output}")


def waitBound(port, timeout=10.0):
    """A Deferred that fires once something (a SIPp callee) has bound UDP 127.0.0.1:C{port}."""
    from twisted.internet import defer, reactor, task

    @defer.inlineCallbacks
    def poll():
        deadline = reactor.seconds() + timeout
        while reactor.seconds() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    return
            yield task.deferLater(reactor, 0.05, lambda: None)
        raise AssertionError(f"nothing bound 127.0.0.1:{port} within {timeout}s")

    return poll()


def writeScenario(text, name, testCase=None):
    """
    Write a scenario into a fresh temporary folder; the folder is removed
    when C{testCase} ends (the caller's to remove without one). The path.
    """
    folder = tempfile.mkdtemp(prefix="txpbx-sipp-")
    if testCase is not None:
        testCase.addCleanup(shutil.rmtree, folder, True)
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path
