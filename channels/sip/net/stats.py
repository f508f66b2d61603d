"""
What the SIP stack counts for /metrics: messages in and out by method and
status, transactions started, retransmissions. Plain integers and dicts,
updated on the hot path with one increment each and read at scrape time.
"""


class SIPCounters:
    """
    @ivar requestsIn: {method: count} of requests received.
    @ivar requestsOut: {method: count} of requests sent (retransmissions too).
    @ivar responsesIn: {(method, status): count} of responses received.
    @ivar responsesOut: {(method, status): count} of responses sent.
    @ivar retransmissions: requests and responses sent again by a
        transaction's timers (or answering a retransmitted request).
    @ivar serverTransactions: server transactions started.
    @ivar clientTransactions: client transactions started.
    """

    def __init__(self):
        self.requestsIn = {}
        self.requestsOut = {}
        self.responsesIn = {}
        self.responsesOut = {}
        self.retransmissions = 0
        self.serverTransactions = 0
        self.clientTransactions = 0

    def received(self, message):
        """Count one parsed message that arrived (with Via and CSeq)."""
        if message.isRequest:
            counts, key = self.requestsIn, message.method
        else:
            counts, key = self.responsesIn, (message.cseq.method, message.status)
        counts[key] = counts.get(key, 0) + 1

    def sent(self, message):
        """Count one message handed to a socket."""
        if message.isRequest:
            counts, key = self.requestsOut, message.method
        else:
            try:
                cseq = message.cseq
            except ValueError:
                cseq = None  # the 400 to a request whose CSeq did not parse
            counts, key = self.responsesOut, (cseq.method if cseq is not None else "", message.status)
        counts[key] = counts.get(key, 0) + 1
