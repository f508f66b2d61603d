"""
chan_sip's families on /metrics, read from the stack's counters at scrape
time: messages by method and status, transactions, retransmissions,
registrations (inbound bindings and outbound register => lines), peers.
"""

from pbxcore.metrics import counter, gauge


def sipMetrics(stack, peers):
    """The families of one chan_sip (C{stack}: the SIPStack; C{peers}: its PeerService)."""
    counts = stack.transport.counters
    yield counter("asterisk_sip_requests_received", "SIP requests received, by method",
                  dict(counts.requestsIn), ("method",))
    yield counter("asterisk_sip_requests_sent", "SIP requests sent (retransmissions too), by method",
                  dict(counts.requestsOut), ("method",))
    yield counter("asterisk_sip_responses_received", "SIP responses received, by method and code",
                  dict(counts.responsesIn), ("method", "code"))
    yield counter("asterisk_sip_responses_sent", "SIP responses sent, by method and code",
                  dict(counts.responsesOut), ("method", "code"))
    yield counter("asterisk_sip_retransmissions", "SIP messages sent again by transaction timers",
                  counts.retransmissions)
    yield counter("asterisk_sip_transactions", "SIP transactions started, by role",
                  {"server": counts.serverTransactions, "client": counts.clientTransactions},
                  ("role",))
    transactions = stack.transactions
    yield gauge("asterisk_sip_transactions_count", "SIP transactions alive now, by role",
                {"server": len(transactions.serverTransactions),
                 "client": len(transactions.clientTransactions)}, ("role",))
    if peers is None:
        return
    now = peers.now()
    location = peers.location
    registered = [name for name in location.peers() if location.isRegistered(name, now)]
    yield gauge("asterisk_sip_registrations_count", "Contacts bound by phones registering here",
                len(location))
    yield gauge("asterisk_sip_registered_peers_count", "Peers with at least one binding",
                len(registered))
    yield gauge("asterisk_sip_peers_count", "Peers configured in sip.conf",
                len(peers.config.peers))
    outbound = {}
    for registration in peers.registry:
        state = registration.state.value
        outbound[state] = outbound.get(state, 0) + 1
    yield gauge("asterisk_sip_outbound_registrations_count",
                "Outbound registrations (register =>), by state", outbound, ("state",))
