"""
Dialplan lookup cost against dialplan size.

Builds dialplans of 1k, 10k and 100k exact extensions plus 1,000 patterns
and prints microseconds per Dialplan.find() for exact hits, pattern hits
and misses, and per matchMore(). Lookups should barely grow with size:
exact names are a dict, patterns a trie of their elements.

    python bench/bench_dialplan_lookup.py [--quick]
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pbxcore.config import parseText  # noqa: E402
from pbxcore.dialplan.parser import parseDialplan  # noqa: E402

PATTERNS = 1000


def generate(nExact):
    lines = ["[bench]"]
    for n in range(nExact):
        lines.append(f"exten => {2000000 + n},1,NoOp({n})")
    for i in range(PATTERNS // 2):
        lines.append(f"exten => _8{i:03d}XXXX,1,NoOp(p8-{i})")
        lines.append(f"exten => _9{i:03d}[1-5]X.,1,NoOp(p9-{i})")
    return "\n".join(lines) + "\n"


def perCall(fn, args, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        for a in args:
            fn(*a)
    return (time.perf_counter() - start) / (repeat * len(args)) * 1e6


def main(argv):
    quick = "--quick" in argv
    sizes = (1000, 10000) if quick else (1000, 10000, 100000)
    repeat = 3 if quick else 10
    rng = random.Random(7)
    print(f"{'exact':>8} {'parse s':>8} {'exact hit':>10} {'pattern hit':>12} "
          f"{'miss':>8} {'matchMore':>10}   (microseconds per call)")
    for size in sizes:
        text = generate(size)
        t0 = time.perf_counter()
        dp = parseDialplan(parseText(text, "bench.conf"))
        parse = time.perf_counter() - t0
        exact = [("bench", str(2000000 + rng.randrange(size)), 1) for _ in range(1000)]
        pattern = [("bench", f"8{rng.randrange(500):03d}{rng.randrange(10000):04d}", 1)
                   for _ in range(500)]
        pattern += [("bench", f"9{rng.randrange(500):03d}3{rng.randrange(100000):05d}", 1)
                    for _ in range(500)]
        miss = [("bench", f"7{rng.randrange(10**6):06d}", 1) for _ in range(500)]
        miss += [("bench", f"8{rng.randrange(500, 1000):03d}1234", 1) for _ in range(500)]
        more = [("bench", f"8{rng.randrange(500):03d}1") for _ in range(1000)]
        assert all(dp.find(*a) is not None for a in exact + pattern)
        assert all(dp.find(*a) is None for a in miss)
        print(f"{size:>8} {parse:>8.2f} {perCall(dp.find, exact, repeat):>10.2f} "
              f"{perCall(dp.find, pattern, repeat):>12.2f} {perCall(dp.find, miss, repeat):>8.2f} "
              f"{perCall(dp.matchMore, more, repeat):>10.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
