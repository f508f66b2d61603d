"""
The README's two commands as a user on a fresh Debian with nothing but
Python 3.11 runs them. The commands are read from README.md and run by a real
bash in which the system tools are stand-ins that behave as on such a
machine: C{python3 -m venv} fails until C{apt-get install python3-venv} ran,
C{apt-get install} finds nothing until C{apt-get update} ran (a fresh image
has no package lists). Every tool call is recorded, so the test sees the
order. And C{.ci/run} installs what command 2 names and runs its pytest.
"""

import os
import re
import subprocess

from tests.pbxprocess import ROOT

STUBS = {
    "apt-get": """#!/bin/sh
echo "apt-get $*" >> "$LOG"
case "$1" in
  update) touch "$STATE/lists" ;;
  install)
    [ -e "$STATE/lists" ] || { echo "E: Unable to locate package" >&2; exit 100; }
    for p in "$@"; do if [ "$p" = python3-venv ]; then touch "$STATE/venv"; fi; done ;;
esac
""",
    "python3": """#!/bin/sh
echo "python3 $*" >> "$LOG"
if [ "$1" = -m ] && [ "$2" = venv ]; then
  [ -e "$STATE/venv" ] || { echo "The virtual environment was not created successfully because ensurepip is not available." >&2; exit 1; }
  mkdir -p "$3/bin"
  printf 'PATH="%s:$PATH"\\n' "$STUBDIR" > "$3/bin/activate"
fi
""",
    "pip": '#!/bin/sh\necho "pip $*" >> "$LOG"\n',
    "twistd": '#!/bin/sh\necho "twistd $*" >> "$LOG"\n',
}


def commands():
    """The two commands of README.md's 'The two commands' block."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    block = re.search(r"## The two commands.*?```sh\n(.*?)```", text, re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == 2, lines
    return lines


def runOnFreshDebian(command, tmp_path):
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, text in STUBS.items():
        path = stubs / name
        path.write_text(text)
        path.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    log = tmp_path / "log"
    log.write_text("")
    work = tmp_path / "checkout"
    work.mkdir()
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "LOG": str(log), "STATE": str(state),
           "STUBDIR": str(stubs), "HOME": str(tmp_path)}
    result = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True,
                            text=True, timeout=60)
    return result, log.read_text().splitlines()


def test_firstCommandWorksOnAFreshDebian(tmp_path):
    first, _ = commands()
    result, calls = runOnFreshDebian(first, tmp_path)
    assert result.returncode == 0, (result.stderr, calls)
    def first(prefix):
        return next(i for i, call in enumerate(calls) if call.startswith(prefix))

    assert first("apt-get update") < first("apt-get install") < first("python3 -m venv"), calls
    assert calls[-1] == "twistd -n pbx -c etc/", calls
    assert "pip install ." in calls


def test_secondCommandWorksOnAFreshDebianAndCiRunsIt(tmp_path):
    _, second = commands()
    # Only the installation part: the test suite itself is what runs here.
    install = second.split(" && python -m pytest")[0]
    result, calls = runOnFreshDebian(install.replace("(cd tests/e2e/webrtc/clients && npm ci)", "true"),
                                     tmp_path)
    assert result.returncode == 0, (result.stderr, calls)
    packages = re.search(r"apt-get install -y ([^&]+)&&", second).group(1).split()
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        ci = f.read()
    for package in packages:
        assert f"need+=({package})" in ci, package
    pytestCommand = "python -m pytest" + second.split("python -m pytest", 1)[1]
    assert pytestCommand.strip() in ci, pytestCommand
