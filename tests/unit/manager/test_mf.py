"""PlayMF's tone plan: Asterisk's pairs and durations."""

from pbxcore.manager.mf import mfPlan


def test_plan():
    assert mfPlan("*1#") == [((1100, 1700), 120), ((), 50), ((700, 900), 55), ((), 50),
                             ((1500, 1700), 55), ((), 50)]
    assert mfPlan("0w?", 80) == [((1300, 1500), 80), ((), 50), ((), 500)]
    assert mfPlan("") == []
