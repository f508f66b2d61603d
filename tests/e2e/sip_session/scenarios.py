"""
SIPp scenario pieces for the INVITE session tests: a caller that logs in as
the shipped etc/'s 1001 (digest, as a desk phone would), then whatever the
test adds. Each test writes its scenario from these pieces, so that the
file states every message on the wire.
"""

SDP = """
      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000"""

USER, SECRET = "1001", "change-me-1001"

FROM = f'From: "Alice" <sip:{USER}@[remote_ip]:[remote_port]>;tag=[pid]t[call_number]'
TO = "To: <sip:[service]@[remote_ip]:[remote_port]>"


def _headers(headers):
    return "".join(f"\n      {line}" for line in headers)


def invite(cseq=1, sdp=True, headers=(), auth=True, tag=None):
    """An INVITE to [service] (with the digest answer when C{auth})."""
    body = SDP if sdp else ""
    extra = list(headers)
    if auth:
        extra.append(f"[authentication username={USER} password={SECRET}]")
    if sdp:
        extra.append("Content-Type: application/sdp")
    fromLine = FROM if tag is None else FROM.replace("tag=[pid]t[call_number]", f"tag={tag}")
    return f"""
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      {fromLine}
      {TO}
      Call-ID: [call_id]
      CSeq: {cseq} INVITE
      Contact: <sip:{USER}@[local_ip]:[local_port]>
      Max-Forwards: 70{_headers(extra)}
      Content-Length: [len]
{body}
    ]]>
  </send>"""


def request(method, cseq, headers=(), body="", uri="[next_url]", to="[peer_tag_param]", tag=None):
    """An in-dialog request of the caller (From tag C{tag} for a second dialog)."""
    extra = list(headers)
    fromLine = FROM if tag is None else FROM.replace("tag=[pid]t[call_number]", f"tag={tag}")
    if body:
        extra.append("Content-Type: application/sdp")
    return f"""
  <send retrans="500">
    <![CDATA[
      {method} {uri} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      {fromLine}
      {TO}{to}
      Call-ID: [call_id]
      CSeq: {cseq} {method}
      Contact: <sip:{USER}@[local_ip]:[local_port]>
      Max-Forwards: 70{_headers(extra)}
      Content-Length: [len]
{body}
    ]]>
  </send>"""


def ack(cseq, body="", uri="[next_url]", tag=None):
    """The ACK of a final response (no retransmission)."""
    return request("ACK", cseq, body=body, uri=uri, tag=tag).replace('<send retrans="500">', "<send>")


def challenged(sdp=True, headers=(), cseq=1, tag=None):
    """INVITE, 401, ACK, INVITE with credentials (CSeq one higher), 100."""
    first = invite(cseq, sdp, headers, auth=False, tag=tag)
    return first + """
  <recv response="100" optional="true"/>
  <recv response="401" auth="true"/>""" + ack(cseq, uri="sip:[service]@[remote_ip]:[remote_port]", tag=tag) \
        + invite(cseq + 1, sdp, headers, tag=tag) + """
  <recv response="100" optional="true"/>"""


def answered(sdp=True, headers=(), checks=()):
    """The authenticated call answered: 200 (with C{checks}: (header, regexp)), ACK not sent."""
    return challenged(sdp, headers) + f"""
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true">{action(checks)}
  </recv>"""


def action(checks, prefix="h"):
    """Header checks (header, regexp; SIPp hands a value over with its leading blank)."""
    if not checks:
        return ""
    checks = [(h, "^ *" + r[1:] if r.startswith("^") else r) for h, r in checks]
    lines = "".join(
        f'\n      <ereg regexp="{regexp}" search_in="{"body" if header == "body" else "hdr"}"'
        + ("" if header == "body" else f' header="{header}:"')
        + f' check_it="true" assign_to="{prefix}{i}"/>'
        for i, (header, regexp) in enumerate(checks))
    return f"\n    <action>{lines}\n    </action>"


def reference(checks, prefix="h"):
    names = ",".join(f"{prefix}{i}" for i in range(len(checks)))
    return f'\n  <Reference variables="{names}"/>' if checks else ""


def scenario(name, body, variables=""):
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="{name}">{body}{variables}
</scenario>
"""
