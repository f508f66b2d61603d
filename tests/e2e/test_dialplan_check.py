"""
A dialplan Asterisk loads with warnings, as a user meets it: C{pbx --check}
prints every warning (file:line) and exits 1, C{twistd -n pbx} starts on it
and logs the same warnings, and the console's C{dialplan check} lists them.
"""

import json
import os
import shutil
import subprocess
import sys

from tests.pbxprocess import ROOT, PBXProcess, cleanup, makeConfigDir

CORPUS = os.path.join(ROOT, "tests", "data", "dialplan")
PATIENCE = 60


def pbxCommand(*args, cwd=ROOT):
    script = shutil.which("pbx")
    command = [script] if script else [sys.executable, "-m", "pbxcore.console.cli"]
    return subprocess.run(command + list(args), cwd=cwd, capture_output=True, text=True,
                          timeout=PATIENCE, env=dict(os.environ, PYTHONPATH=ROOT))


def expectedWarnings(case):
    with open(os.path.join(CORPUS, case, "expected.json")) as f:
        return json.load(f)["warnings"]


def copyCase(case, tmp_path):
    target = tmp_path / case
    shutil.copytree(os.path.join(CORPUS, case), target)
    return str(target)


def test_checkPrintsEveryWarningAndExitsOne(tmp_path):
    folder = copyCase("warnings", tmp_path)
    result = pbxCommand("--check", "-c", folder)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    expected = expectedWarnings("warnings")
    assert len(lines) == len(expected) + 1, result.stdout
    for line, (filename, number, fragment) in zip(lines, expected):
        assert line.startswith(f"{os.path.join(folder, filename)}:{number}: "), line
        assert fragment in line.replace(folder + os.sep, ""), (line, fragment)
    assert lines[-1].endswith(f"{len(expected)} warnings."), lines[-1]
    assert "Traceback" not in result.stderr


CASES = sorted(name for name in os.listdir(CORPUS)
               if os.path.isfile(os.path.join(CORPUS, name, "expected.json")))


def test_checkAnswersForEveryCorpusCase(tmp_path):
    for case in CASES:
        folder = copyCase(case, tmp_path)
        with open(os.path.join(folder, "expected.json")) as f:
            spec = json.load(f)
        result = pbxCommand("--check", "-c", folder)
        lines = result.stdout.splitlines()
        if "refused" in spec:
            filename, number, fragment = spec["refused"]
            assert result.returncode == 1, (case, result.stdout)
            assert lines[0].startswith(f"{os.path.join(folder, filename)}:{number}: "), lines
            continue
        warnings = spec["warnings"]
        assert result.returncode == (1 if warnings else 0), (case, result.stdout)
        assert len(lines) == len(warnings) + 1, (case, result.stdout)
        for line, (filename, number, _) in zip(lines, warnings):
            assert line.startswith(f"{os.path.join(folder, filename)}:{number}: "), (case, line)


def test_checkOfTheShippedDialplanIsClean(tmp_path):
    etc = tmp_path / "etc"
    shutil.copytree(os.path.join(ROOT, "etc"), etc)
    result = pbxCommand("--check", "-c", str(etc))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("0 warnings."), result.stdout


def test_checkOfAFileAsteriskRefuses(tmp_path):
    folder = copyCase("refused-no-bracket", tmp_path)
    result = pbxCommand("--check", "-c", folder)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first == f"{os.path.join(folder, 'extensions.conf')}:3: parse error: no closing ']'"


def test_checkWithoutADialplan(tmp_path):
    result = pbxCommand("--check", "-c", str(tmp_path))
    assert result.returncode == 1
    assert "extensions.conf: no such file" in result.stdout


def test_daemonStartsOnADialplanWithWarningsAndLogsThem():
    # Not the shipped etc/: the point is a dialplan full of lines Asterisk
    # warns about (the corpus' sample corners and warning cases).
    with open(os.path.join(CORPUS, "warnings", "extensions.conf")) as f:
        text = f.read()
    etc = makeConfigDir({
        "modules.conf": "[modules]\nautoload = no\nload => pbx_config\n",
        "extensions.conf": text,
    })
    pbx = PBXProcess(etc).start()
    try:
        pbx.waitBooted(PATIENCE)
        path = os.path.join(etc, "extensions.conf")
        for _, number, fragment in expectedWarnings("warnings"):
            pbx.waitFor(f"{path}:{number}: ", PATIENCE)
        assert "loaded module pbx_config" in pbx.output
        count = len(expectedWarnings("warnings"))
        assert f"dialplan loaded with {count} warnings" in pbx.output, pbx.output
        # The console lists the same warnings on demand.
        result = pbxCommand("-c", etc, "-rx", "dialplan check")
        assert result.returncode == 0, result.stderr
        checked = result.stdout.splitlines()
        assert len(checked) == len(expectedWarnings("warnings")) + 1, result.stdout
        assert checked[0].startswith(f"{path}:60: no '=' (equal sign)"), checked[0]
        shown = pbxCommand("-c", etc, "-rx", "dialplan show apps")
        assert "'400' =>" in shown.stdout and "Wait(2)" in shown.stdout, shown.stdout
        assert pbx.stop() == 0, pbx.output
        assert "Traceback" not in pbx.output, pbx.output
    finally:
        pbx.kill()
        cleanup(etc)


def test_daemonRefusesAFileAsteriskCannotRead():
    etc = makeConfigDir({
        "modules.conf": "[modules]\nautoload = no\nload => pbx_config\n",
        "extensions.conf": "[default]\nexten => 1,1,NoOp()\n#include missing.conf\n",
    })
    try:
        result = subprocess.run(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
             "-n", "--pidfile=", "pbx", "-c", etc],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
            text=True, timeout=PATIENCE)
        assert result.returncode != 0
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert (f"{os.path.join(etc, 'extensions.conf')}:3: the file 'missing.conf' was "
                "listed as a #include but it does not exist") in lines[0]
    finally:
        cleanup(etc)
