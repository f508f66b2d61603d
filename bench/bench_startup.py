"""
Start-up time of `twistd -n pbx -c etc/` until the PBX logs that it is
fully booted (a real subprocess each run), and the time to stop on SIGTERM.

    python3 bench/bench_startup.py [--runs 5] [--config etc]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.pbxprocess import ROOT, PBXProcess  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--config", default=os.path.join(ROOT, "etc"))
    args = parser.parse_args()
    boots, stops = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        pbx = PBXProcess(os.path.abspath(args.config)).start()
        try:
            pbx.waitBooted(120)
            booted = time.perf_counter()
            status = pbx.stop()
            stopped = time.perf_counter()
        finally:
            pbx.kill()
        if status != 0:
            raise SystemExit(f"pbx exited with {status}:\n{pbx.output}")
        boots.append(booted - started)
        stops.append(stopped - booted)
    print(f"start-up to fully booted: median {statistics.median(boots) * 1000:.0f} ms, "
          f"min {min(boots) * 1000:.0f} ms over {args.runs} runs (process spawn included)")
    print(f"SIGTERM to exit: median {statistics.median(stops) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
