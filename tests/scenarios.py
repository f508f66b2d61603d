"""
SIPp scenarios written from templates, so that each test (or benchmark)
states the headers it sends and the headers it expects on the wire.

C{caller(headers, checks, ...)}: INVITE with C{headers}; C{checks} (header,
regular expression) must hold on the final response; then either the far
end's BYE is awaited (C{end="wait"}) or the caller hangs up.

C{callee(checks)}: answers an INVITE whose headers satisfy C{checks}, then
hangs up.

C{register(status, ...)}: REGISTER, the 401 challenge, the authenticated
REGISTER, then the final response C{status}.
"""

from xml.sax.saxutils import quoteattr

from tests.sipp import writeScenario

SDP = """
      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000"""


def _checks(checks, prefix, extra=""):
    """(the <action> of header checks, the <Reference> naming their variables)."""
    if not checks and not extra:
        return "", ""
    names = [f"{prefix}{i}" for i in range(len(checks))]
    # SIPp hands the header value over with the blank after the colon.
    checks = [(h, "^ *" + r[1:] if r.startswith("^") else r) for h, r in checks]
    actions = extra + "".join(
        f'\n      <ereg regexp={quoteattr(regexp)} search_in="hdr" header={quoteattr(header + ":")}'
        f' check_it="true" assign_to="{name}"/>'
        for (header, regexp), name in zip(checks, names))
    reference = f'\n  <Reference variables="{",".join(names)}"/>' if names else ""
    return f"\n    <action>{actions}\n    </action>\n  ", reference


def _headerLines(headers):
    return "".join(f"\n      {name}: {value}" for name, value in headers)


def caller(headers=(), checks=(), status=200, end="wait", user="open", then="", optional="true",
           pause=0):
    """
    A caller scenario (see the module docstring); C{then} is XML run after
    the ACK, C{pause} milliseconds before the caller's BYE. With
    C{optional="global"} a provisional response is accepted at any point
    (a B2BUA may relay a 180 after the 200).
    """
    action, reference = _checks(checks, "c")
    if status == 200:
        final = f'<recv response="200" rrs="true">{action}</recv>{reference}'
        ackTarget = "[next_url]"
    else:
        final = f'<recv response="{status}">{action}</recv>{reference}'
        ackTarget = "sip:[service]@[remote_ip]:[remote_port]"
    ack = f"""
  <send>
    <![CDATA[
      ACK {ackTarget} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>"""
    tail = ""
    if status == 200 and end == "wait":
        tail = """
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>"""
    elif status == 200:
        tail = f"""{f'{chr(10)}  <pause milliseconds="{pause}"/>' if pause else ""}
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 9 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{user}@[local_ip]:[local_port]>
      Max-Forwards: 70{_headerLines(headers)}
      Content-Type: application/sdp
      Content-Length: [len]
{SDP}
    ]]>
  </send>
  <recv response="100" optional="{optional}"/>
  <recv response="180" optional="{optional}"/>
  <recv response="183" optional="{optional}"/>
  {final}{ack}{then}{tail}
</scenario>
"""


def callee(checks=()):
    """A callee scenario (see the module docstring)."""
    action, reference = _checks(checks, "k", extra=(
        '\n      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote"/>'))
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="callee">
  <recv request="INVITE" rrs="true">{action}</recv>{reference}
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]
{SDP}
    ]]>
  </send>
  <recv request="ACK"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:bob@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
      To: [$remote]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


def inDialogAnswer(method, checks=(), headers=()):
    """XML: wait for C{method} from the PBX (checking C{checks}) and answer 200."""
    action, reference = _checks(checks, f"{method.lower()}")
    return f"""
  <recv request="{method}">{action}</recv>{reference}
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]{_headerLines(headers)}
      Content-Length: 0

    ]]>
  </send>"""


def register(status=200, headers=(), action="", user="[service]",
             authentication="[authentication]"):
    """
    A REGISTER scenario for C{user}: the 401 challenge is answered with
    C{authentication} (SIPp's keyword) and the final response must be
    C{status}; C{headers} (lines) go into both requests, C{action} is XML
    run on the final response.
    """
    def request(cseq, auth):
        lines = "".join(f"\n      {h}" for h in [*headers, *auth])
        return f"""
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:{user}@[remote_ip]>;tag=[pid]t[call_number]
      To: <sip:{user}@[remote_ip]>
      Call-ID: [call_id]
      CSeq: {cseq} REGISTER{lines}
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>"""

    final = f'<recv response="{status}">{action}</recv>' if action else f'<recv response="{status}"/>'
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="REGISTER">{request(1, [])}
  <recv response="401" auth="true"/>{request(2, [authentication])}
  {final}
</scenario>
"""


def write(testCase, text, name):
    """Write a scenario into a temporary directory removed after the test."""
    return writeScenario(text, name, testCase)
