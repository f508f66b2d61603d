"""
How fast pbxcore.config parses a large extensions.conf.

Generates a dialplan of about 100,000 lines (contexts of C{exten => NNNN,1,...}
followed by C{same => n,...} lines, with some comments) in a temporary
directory, parses it a few times with parseFile and prints the best and mean
times and the lines per second.

    python bench/bench_config.py [--lines N] [--runs R]
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pbxcore.config import parseFile  # noqa: E402


def writeDialplan(path, lines):
    """Write an extensions.conf of exactly C{lines} lines; return the count."""
    out = [
        "; generated for bench_config.py",
        "[general]",
        "static = yes",
        "writeprotect = no",
        "[globals]",
        "TRUNK = SIP/provider",
    ]
    context = 0
    exten = 1000
    while len(out) < lines:
        if exten % 100 == 0 or context == 0:
            context += 1
            out.append("")
            out.append(f"[context{context}]  ; context number {context}")
            out.append(f"include => context{context}-parking")
        out.append(f"exten => {exten},1,NoOp(Call for ${{EXTEN}} from ${{CALLERID(num)}})")
        out.append(" same => n,Set(CDR(userfield)=bench\\;ext)")
        out.append(f" same => n(dial),Dial(SIP/{exten},30,tT)")
        out.append(" same => n,GotoIf($[\"${DIALSTATUS}\" = \"BUSY\"]?busy)")
        out.append(" same => n,Voicemail(${EXTEN}@default,u) ; unavailable")
        out.append(" same => n(busy),Voicemail(${EXTEN}@default,b)")
        out.append(" same => n,Hangup()")
        exten += 1
    del out[lines:]
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return len(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "extensions.conf")
        lines = writeDialplan(path, options.lines)
        size = os.path.getsize(path)
        times = []
        for _ in range(options.runs):
            start = time.perf_counter()
            config = parseFile(path)
            times.append(time.perf_counter() - start)
        entries = sum(len(s.entries) for s in config.sections)
    best = min(times)
    mean = sum(times) / len(times)
    print(f"file: {lines} lines, {size / 1e6:.1f} MB, "
          f"{len(config.sections)} sections, {entries} entries")
    print(f"parseFile over {options.runs} runs: best {best * 1000:.0f} ms, "
          f"mean {mean * 1000:.0f} ms")
    print(f"throughput: {lines / best:,.0f} lines/s (best), {lines / mean:,.0f} lines/s (mean)")


if __name__ == "__main__":
    main()
