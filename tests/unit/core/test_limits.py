"""The open-file limit raised at start (pbxcore.limits), with fake getrlimit/setrlimit."""

import resource
import unittest

from twisted.logger import Logger, formatEvent

from pbxcore.limits import raiseOpenFileLimit


class Limits:
    def __init__(self, soft, hard, fail=None):
        self.limits = (soft, hard)
        self.fail = fail
        self.set = []

    def getrlimit(self, which):
        assert which == resource.RLIMIT_NOFILE
        return self.limits

    def setrlimit(self, which, limits):
        assert which == resource.RLIMIT_NOFILE
        if self.fail is not None:
            raise self.fail
        self.set.append(limits)
        self.limits = limits


class OpenFileLimitTests(unittest.TestCase):

    def raiseWith(self, limits):
        events = []
        result = raiseOpenFileLimit(limits.getrlimit, limits.setrlimit,
                                    Logger(observer=events.append))
        return result, [formatEvent(e) for e in events]

    def test_softRaisedToHardAndLoggedOnce(self):
        limits = Limits(1024, 524288)
        result, lines = self.raiseWith(limits)
        self.assertEqual(result, (524288, 524288))
        self.assertEqual(limits.set, [(524288, 524288)])
        self.assertEqual(lines, ["Open files limit raised from 1024 to 524288"])

    def test_alreadyAtTheHardLimit(self):
        limits = Limits(4096, 4096)
        result, lines = self.raiseWith(limits)
        self.assertEqual((result, limits.set), ((4096, 4096), []))
        self.assertEqual(lines, ["Open files limit: 4096 (the hard limit)"])

    def test_unlimitedHardLimit(self):
        limits = Limits(1024, resource.RLIM_INFINITY)
        result, lines = self.raiseWith(limits)
        self.assertEqual(result, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.assertEqual(lines, ["Open files limit raised from 1024 to unlimited"])

    def test_refusedRaiseIsReportedNotFatal(self):
        limits = Limits(1024, 4096, fail=ValueError("not allowed"))
        result, lines = self.raiseWith(limits)
        self.assertEqual(result, (1024, 4096))
        self.assertEqual(lines, ["Open files limit stays at 1024: raising it to 4096 failed: "
                                 "not allowed"])
