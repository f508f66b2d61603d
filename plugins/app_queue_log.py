"""
queue_log lines in Asterisk's format, PURE:

    time|callid|queuename|agent|event|data1|data2|...

C{agent} is the member's name, C{NONE} when the event has no member;
Asterisk's events: ENTERQUEUE, CONNECT, COMPLETECALLER, COMPLETEAGENT,
ABANDON, EXITWITHTIMEOUT, EXITEMPTY, EXITWITHKEY, RINGNOANSWER, ADDMEMBER,
REMOVEMEMBER, PAUSE, UNPAUSE, QUEUESTART, CONFIGRELOAD.
"""


def logLine(now, callid, queue, agent, event, *data):
    """One queue_log line (with its newline)."""
    fields = [str(int(now)), callid or "NONE", queue or "NONE", agent or "NONE", event]
    fields += ["" if d is None else str(d) for d in data]
    return "|".join(f.replace("|", "_").replace("\n", " ") for f in fields) + "\n"


def parseLine(line):
    """The fields of a queue_log line (for tests and readers)."""
    return line.rstrip("\n").split("|")
