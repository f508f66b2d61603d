"""
Wheels and fresh virtual environments for the packaging tests: txpbx and a
third-party distribution are built into wheels from private copies and
installed into a new venv, as a user would install them.
"""

import os
import shutil
import subprocess
import sys
import venv

#: What a source copy leaves out: build products, caches, the developer's
#: own venv and run-time data, and test temp dirs.
IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.egg-info", "build", "dist", ".git", ".venv", "var", "dropin.cache",
    ".hypothesis", ".pytest_cache", "_trial_temp*", "tests.*", "examples")


def run(cmd, **kw):
    """Run C{cmd}; fail with its output when it fails."""
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result


def buildWheel(source, outdir):
    """A wheel of the project at C{source} in C{outdir}, built from a private copy."""
    work = os.path.join(os.path.dirname(outdir), "src-" + os.path.basename(source))
    shutil.copytree(source, work, ignore=IGNORE)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", outdir, work])


def makeVenv(top, *projects):
    """
    A fresh venv in C{top} with the wheels of C{projects} installed (their
    dependencies come from the package index); returns its python.
    """
    wheels = os.path.join(top, "wheels")
    os.makedirs(wheels)
    for project in projects:
        buildWheel(project, wheels)
    env = os.path.join(top, "venv")
    venv.EnvBuilder(with_pip=True).create(env)
    python = os.path.join(env, "bin", "python")
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         *[os.path.join(wheels, n) for n in sorted(os.listdir(wheels)) if n.endswith(".whl")]])
    return python
