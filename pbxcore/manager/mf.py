"""
MF (R1) signalling tones for the manager's PlayMF, pure: which tone pairs,
for how long, with what gaps, as Asterisk's ast_mf_stream plays them.
"""

from __future__ import annotations

#: Digit to its two frequencies (Hz); '*' is KP, '#' ST, A/B/C are ST', ST'', ST'''.
MF_TONES = {
    "1": (700, 900), "2": (700, 1100), "3": (900, 1100), "4": (700, 1300),
    "5": (900, 1300), "6": (1100, 1300), "7": (700, 1500), "8": (900, 1500),
    "9": (1100, 1500), "0": (1300, 1500), "*": (1100, 1700), "#": (1500, 1700),
    "A": (900, 1700), "B": (1300, 1700), "C": (700, 1700),
}

#: Asterisk's defaults, in milliseconds.
DURATION_KP = 120
DURATION = 55
BETWEEN = 50
PAUSE = 500


def mfPlan(digits: str, durationMs: int = 0) -> list[tuple[tuple[int, ...], int]]:
    """
    ((frequencies, ms), ...) for C{digits}: each tone then a silent gap
    (no frequencies); 'w' or 'W' is half a second of silence, anything
    else unknown is skipped, as Asterisk does.
    """
    plan: list[tuple[tuple[int, ...], int]] = []
    for digit in digits.upper():
        if digit == "W":
            plan.append(((), PAUSE))
            continue
        tones = MF_TONES.get(digit)
        if tones is None:
            continue
        length = DURATION_KP if digit == "*" else (durationMs or DURATION)
        plan.append((tones, length))
        plan.append(((), BETWEEN))
    return plan
