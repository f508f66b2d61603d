"""pbx.conf verbose = 3 logs each dialplan step, as Asterisk's console does."""

from twisted.logger import Logger
from twisted.trial.unittest import TestCase

from .support import call, makePBX

DIALPLAN = """
[default]
exten => 1,1,Set(X=2)
 same => n,NoOp(x is ${X})
"""


def steps(verbose):
    pbx, tech = makePBX(dialplan=DIALPLAN, settings={"verbose": verbose})
    events = []
    pbx.engine.log = Logger(namespace="pbxcore.dialplan.engine", observer=events.append)
    call(pbx, tech, "1")
    return [e for e in events if e.get("log_format", "").startswith("Executing")]


class VerboseTraceTests(TestCase):

    def test_level3TracesEveryStep(self):
        logged = steps(3)
        self.assertEqual([(e["exten"], e["context"], e["priority"], e["app"], e["data"])
                          for e in logged],
                         [("1", "default", 1, "Set", "X=2"), ("1", "default", 2, "NoOp", "x is 2")])

    def test_belowLevel3NothingIsTraced(self):
        self.assertEqual(steps(2), [])
