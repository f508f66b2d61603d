"""
MixMonitor's options and volume maths, PURE.

Options (Asterisk's): C{a} append to the file, C{b} record only while
bridged, C{v(x)} the heard (read) volume, C{V(x)} the spoken (write)
volume, C{W(x)} both, x from -4 to 4: each step doubles (positive) or
halves (negative) the level, as Asterisk's audiohook volume factors.
"""

from array import array
from dataclasses import dataclass


@dataclass(frozen=True)
class MixMonitorOptions:
    append: bool = False
    bridgedOnly: bool = False
    readVolume: int = 0
    writeVolume: int = 0


def _volume(text, letter):
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{letter}({text}): not a number")
    if not -4 <= value <= 4:
        raise ValueError(f"{letter}({text}): outside -4..4")
    return value


def parseOptions(text):
    """MixMonitorOptions from 'abv(2)W(-1)'; ValueError for a bad volume."""
    options = {}
    i = 0
    text = text or ""
    while i < len(text):
        letter = text[i]
        argument = None
        if i + 1 < len(text) and text[i + 1] == "(":
            end = text.find(")", i + 2)
            if end < 0:
                raise ValueError(f"{letter}: no closing parenthesis")
            argument = text[i + 2:end]
            i = end + 1
        else:
            i += 1
        if letter == "a":
            options["append"] = True
        elif letter == "b":
            options["bridgedOnly"] = True
        elif letter == "v":
            options["readVolume"] = _volume(argument or "0", letter)
        elif letter == "V":
            options["writeVolume"] = _volume(argument or "0", letter)
        elif letter == "W":
            options["readVolume"] = options["writeVolume"] = _volume(argument or "0", letter)
    return MixMonitorOptions(**options)


def adjustVolume(pcm, steps):
    """16-bit linear bytes with the level doubled C{steps} times (halved when negative), clipped."""
    if not steps:
        return pcm
    samples = array("h", pcm)
    if steps > 0:
        factor = 1 << steps
        samples = array("h", (max(-32768, min(32767, s * factor)) for s in samples))
    else:
        shift = -steps
        samples = array("h", (s >> shift for s in samples))
    return samples.tobytes()
