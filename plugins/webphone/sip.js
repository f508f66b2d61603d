// A small SIP user agent over WebSocket (RFC 3261, RFC 7118) for the txpbx
// web phone: REGISTER with digest (SHA-256 or MD5, RFC 8760), calls in and
// out with WebRTC media, CANCEL, BYE, DTMF (RFC 4733 through the browser),
// OPTIONS answered. No third-party code; no build step.
"use strict";

const TxSIP = (() => {
  // -- MD5 (RFC 1321), for servers that offer only MD5 digest ------------------
  function md5(text) {
    const bytes = new TextEncoder().encode(text);
    const words = new Uint32Array((((bytes.length + 8) >> 6) + 1) * 16);
    for (let i = 0; i < bytes.length; i++) words[i >> 2] |= bytes[i] << ((i % 4) * 8);
    words[bytes.length >> 2] |= 0x80 << ((bytes.length % 4) * 8);
    words[words.length - 2] = bytes.length * 8;
    const K = [], S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0;
    let a0 = 0x67452301, b0 = 0xefcdab89, c0 = 0x98badcfe, d0 = 0x10325476;
    for (let chunk = 0; chunk < words.length; chunk += 16) {
      let a = a0, b = b0, c = c0, d = d0;
      for (let i = 0; i < 64; i++) {
        let f, g;
        if (i < 16) { f = (b & c) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
        else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
        else { f = c ^ (b | ~d); g = (7 * i) % 16; }
        const s = S[(i >> 4) * 4 + (i % 4)];
        const sum = (a + f + K[i] + words[chunk + g]) >>> 0;
        a = d; d = c; c = b;
        b = (b + ((sum << s) | (sum >>> (32 - s)))) >>> 0;
      }
      a0 = (a0 + a) >>> 0; b0 = (b0 + b) >>> 0; c0 = (c0 + c) >>> 0; d0 = (d0 + d) >>> 0;
    }
    return [a0, b0, c0, d0].map(w => {
      let out = "";
      for (let i = 0; i < 4; i++) out += ((w >>> (i * 8)) & 0xff).toString(16).padStart(2, "0");
      return out;
    }).join("");
  }

  async function sha256(text) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), b => b.toString(16).padStart(2, "0")).join("");
  }

  const randomToken = (n = 10) => {
    const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    return Array.from(bytes, b => chars[b % chars.length]).join("");
  };

  // -- messages ----------------------------------------------------------------
  const COMPACT = { v: "via", f: "from", t: "to", i: "call-id", m: "contact", l: "content-length",
                    c: "content-type", k: "supported", e: "content-encoding", s: "subject" };

  function parse(text) {
    const split = text.indexOf("\r\n\r\n");
    const head = split < 0 ? text : text.slice(0, split);
    const body = split < 0 ? "" : text.slice(split + 4);
    const lines = head.split("\r\n");
    const start = lines.shift();
    const headers = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      let name = line.slice(0, colon).trim().toLowerCase();
      name = COMPACT[name] || name;
      (headers[name] = headers[name] || []).push(line.slice(colon + 1).trim());
    }
    const message = { headers, body, raw: text };
    if (start.startsWith("SIP/2.0 ")) {
      message.status = parseInt(start.slice(8, 11), 10);
      message.reason = start.slice(12);
    } else {
      const [method, uri] = start.split(" ");
      message.method = method;
      message.uri = uri;
    }
    message.get = name => (headers[name.toLowerCase()] || [])[0];
    message.all = name => headers[name.toLowerCase()] || [];
    const cseq = message.get("cseq") || "";
    message.cseq = parseInt(cseq, 10);
    message.cseqMethod = cseq.split(/\s+/)[1];
    return message;
  }

  const tagOf = value => { const m = /;\s*tag=([^;>\s]+)/i.exec(value || ""); return m ? m[1] : null; };
  const uriOf = value => { const m = /<([^>]+)>/.exec(value || ""); return m ? m[1] : (value || "").split(";")[0].trim(); };
  const branchOf = value => { const m = /;\s*branch=([^;\s,]+)/i.exec(value || ""); return m ? m[1] : null; };

  function authParams(value) {
    const params = {};
    const re = /([a-zA-Z0-9_-]+)\s*=\s*("([^"]*)"|[^,\s]+)/g;
    let m;
    while ((m = re.exec(value.replace(/^\s*Digest\s+/i, ""))) !== null) {
      params[m[1].toLowerCase()] = m[3] !== undefined ? m[3] : m[2];
    }
    return params;
  }

  // -- the user agent --------------------------------------------------------------
  class UserAgent {
    constructor({ server, user, secret, domain, displayName, log }) {
      this.server = server;
      this.user = user;
      this.secret = secret;
      this.domain = domain || new URL(server).hostname;
      this.displayName = displayName || user;
      this.log = log || (() => {});
      this.host = randomToken(12) + ".invalid";
      this.contact = `<sip:${user}@${this.host};transport=ws>`;
      this.transactions = new Map();   // branch -> {resolve, request}
      this.calls = new Map();          // call-id -> Call
      this.registered = false;
      this.onRegistration = () => {};
      this.onIncoming = () => {};
      this.onClose = () => {};
      this.regCallId = randomToken(16);
      this.regCSeq = 0;
      this.regTimer = null;
      this.fromTag = randomToken(8);
    }

    connect() {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(this.server, "sip");
        this.ws = ws;
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error("WebSocket failed"));
        ws.onclose = () => { this.registered = false; this.onClose(); this.onRegistration(false, "disconnected"); };
        ws.onmessage = event => this.received(typeof event.data === "string" ? event.data : "");
      });
    }

    send(text) {
      this.log("> " + text.split("\r\n")[0]);
      this.ws.send(text);
    }

    build(method, uri, headers, body = "") {
      const lines = [`${method} ${uri} SIP/2.0`];
      for (const [name, value] of headers) lines.push(`${name}: ${value}`);
      lines.push("Max-Forwards: 70", "User-Agent: txpbx-webphone");
      lines.push(`Content-Length: ${new TextEncoder().encode(body).length}`);
      return lines.join("\r\n") + "\r\n\r\n" + body;
    }

    via(branch) { return `SIP/2.0/WSS ${this.host};branch=${branch}`; }

    // Send a request and resolve with its final response (provisional ones go to onProvisional).
    request(method, uri, headers, body = "", onProvisional = null) {
      const branch = "z9hG4bK" + randomToken(12);
      const all = [["Via", this.via(branch)], ...headers];
      const text = this.build(method, uri, all, body);
      return new Promise(resolve => {
        this.transactions.set(branch, { resolve, onProvisional, method, headers, body, uri });
        this.send(text);
      }).finally(() => this.transactions.delete(branch));
    }

    async authorize(challenge, method, uri) {
      const headerName = challenge.status === 407 ? "proxy-authenticate" : "www-authenticate";
      const offers = challenge.all(headerName).map(authParams);
      const canSha = typeof crypto !== "undefined" && crypto.subtle;
      let chosen = offers.find(p => (p.algorithm || "").toUpperCase() === "SHA-256" && canSha)
                || offers.find(p => !p.algorithm || p.algorithm.toUpperCase() === "MD5");
      if (!chosen) throw new Error("no digest algorithm offered that this phone has");
      const algorithm = (chosen.algorithm || "MD5").toUpperCase();
      const H = algorithm === "SHA-256" ? sha256 : async t => md5(t);
      const cnonce = randomToken(16);
      const nc = "00000001";
      const ha1 = await H(`${this.user}:${chosen.realm}:${this.secret}`);
      const ha2 = await H(`${method}:${uri}`);
      const qop = (chosen.qop || "").split(",").map(s => s.trim()).includes("auth") ? "auth" : null;
      const response = qop ? await H(`${ha1}:${chosen.nonce}:${nc}:${cnonce}:${qop}:${ha2}`)
                           : await H(`${ha1}:${chosen.nonce}:${ha2}`);
      let value = `Digest username="${this.user}", realm="${chosen.realm}", nonce="${chosen.nonce}", ` +
                  `uri="${uri}", response="${response}", algorithm=${algorithm}`;
      if (qop) value += `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"`;
      if (chosen.opaque !== undefined) value += `, opaque="${chosen.opaque}"`;
      return [challenge.status === 407 ? "Proxy-Authorization" : "Authorization", value];
    }

    async register(expires = 300) {
      const uri = `sip:${this.domain}`;
      let auth = null;
      for (let attempt = 0; attempt < 2; attempt++) {
        const headers = [
          ["From", `"${this.displayName}" <sip:${this.user}@${this.domain}>;tag=${this.fromTag}`],
          ["To", `<sip:${this.user}@${this.domain}>`],
          ["Call-ID", this.regCallId], ["CSeq", `${++this.regCSeq} REGISTER`],
          ["Contact", `${this.contact};expires=${expires}`], ["Expires", String(expires)],
        ];
        if (auth) headers.push(auth);
        const response = await this.request("REGISTER", uri, headers);
        if ((response.status === 401 || response.status === 407) && !auth) {
          auth = await this.authorize(response, "REGISTER", uri);
          continue;
        }
        const ok = response.status >= 200 && response.status < 300;
        this.registered = ok && expires > 0;
        clearTimeout(this.regTimer);
        if (this.registered) {
          this.regTimer = setTimeout(() => this.register(expires).catch(e => this.log(String(e))),
                                     Math.max(30, expires - 30) * 1000);
        }
        this.onRegistration(this.registered, `${response.status} ${response.reason}`);
        return response;
      }
    }

    unregister() { return this.register(0); }

    received(text) {
      if (!text.trim()) return;
      let message;
      try { message = parse(text); } catch (e) { this.log("unparsable message dropped"); return; }
      this.log("< " + text.split("\r\n")[0]);
      if (message.status !== undefined) {
        const t = this.transactions.get(branchOf(message.get("via")));
        if (!t) return;
        if (message.status < 200) { if (t.onProvisional) t.onProvisional(message); }
        else t.resolve(message);
        return;
      }
      const call = this.calls.get(message.get("call-id"));
      if (message.method === "INVITE" && !call) return this.incomingInvite(message);
      if (message.method === "OPTIONS") return this.respond(message, 200, "OK");
      if (!call) {
        if (message.method !== "ACK") this.respond(message, 481, "Call/Transaction Does Not Exist");
        return;
      }
      call.request(message);
    }

    respond(request, status, reason, extra = [], body = "") {
      const lines = [`SIP/2.0 ${status} ${reason}`];
      for (const via of request.all("via")) lines.push(`Via: ${via}`);
      let to = request.get("to");
      if (status > 100 && !tagOf(to)) to += `;tag=${request.toTag || (request.toTag = randomToken(8))}`;
      lines.push(`From: ${request.get("from")}`, `To: ${to}`, `Call-ID: ${request.get("call-id")}`,
                 `CSeq: ${request.get("cseq")}`, "User-Agent: txpbx-webphone");
      for (const [name, value] of extra) lines.push(`${name}: ${value}`);
      lines.push(`Content-Length: ${new TextEncoder().encode(body).length}`);
      this.send(lines.join("\r\n") + "\r\n\r\n" + body);
    }

    call(target, stream) {
      const uri = target.startsWith("sip:") ? target : `sip:${target}@${this.domain}`;
      const call = new Call(this, "outgoing", uri);
      call.start(stream);
      return call;
    }

    incomingInvite(message) {
      const call = new Call(this, "incoming", uriOf(message.get("from")));
      call.invite = message;
      call.callId = message.get("call-id");
      call.remoteTag = tagOf(message.get("from"));
      call.localTag = randomToken(8);
      message.toTag = call.localTag;
      call.localUri = message.get("to");
      call.remoteUri = message.get("from");
      call.target = uriOf(message.get("contact")) || call.peerUri;
      call.remoteCSeq = message.cseq;
      this.calls.set(call.callId, call);
      this.respond(message, 180, "Ringing", [["Contact", this.contact]]);
      call.setState("ringing");
      this.onIncoming(call);
    }

    close() {
      clearTimeout(this.regTimer);
      for (const call of this.calls.values()) call.hangup();
      if (this.ws) this.ws.close();
    }
  }

  // -- a call ---------------------------------------------------------------------
  class Call {
    constructor(ua, direction, peerUri) {
      this.ua = ua;
      this.direction = direction;
      this.peerUri = peerUri;
      this.state = "new";
      this.localCSeq = 0;
      this.onState = () => {};
      this.onRemoteStream = () => {};
      this.pc = null;
      this.remoteStream = null;
    }

    setState(state, detail = "") {
      this.state = state;
      this.onState(state, detail);
    }

    async makePeerConnection(stream) {
      const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "balanced", rtcpMuxPolicy: "require" });
      this.pc = pc;
      this.localStream = stream;
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
      pc.ontrack = event => {
        this.remoteStream = event.streams[0] || new MediaStream([event.track]);
        this.onRemoteStream(this.remoteStream);
      };
      pc.oniceconnectionstatechange = () => this.ua.log(`ICE ${pc.iceConnectionState}`);
      pc.onconnectionstatechange = () => this.ua.log(`connection ${pc.connectionState}`);
      return pc;
    }

    // Without trickle ICE the SDP carries the candidates: wait for gathering (bounded).
    gathered(pc) {
      if (pc.iceGatheringState === "complete") return Promise.resolve();
      return new Promise(resolve => {
        const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
        pc.addEventListener("icegatheringstatechange", done);
        setTimeout(resolve, 2000);
      });
    }

    dialogHeaders(method, cseq) {
      return [
        ["From", this.localUri], ["To", this.remoteUri], ["Call-ID", this.callId],
        ["CSeq", `${cseq} ${method}`],
      ];
    }

    async start(stream) {
      const ua = this.ua;
      this.callId = randomToken(20);
      this.localTag = randomToken(8);
      this.localUri = `"${ua.displayName}" <sip:${ua.user}@${ua.domain}>;tag=${this.localTag}`;
      this.remoteUri = `<${this.peerUri}>`;
      ua.calls.set(this.callId, this);
      this.setState("calling");
      const pc = await this.makePeerConnection(stream);
      await pc.setLocalDescription(await pc.createOffer());
      await this.gathered(pc);
      const offer = pc.localDescription.sdp;
      let auth = null;
      for (let attempt = 0; attempt < 2; attempt++) {
        const cseq = ++this.localCSeq;
        const headers = [...this.dialogHeaders("INVITE", cseq), ["Contact", ua.contact],
                         ["Content-Type", "application/sdp"], ["Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"]];
        if (auth) headers.push(auth);
        this.inviteCSeq = cseq;
        const response = await ua.request("INVITE", this.peerUri, headers, offer, provisional => {
          this.inviteBranch = branchOf(provisional.get("via"));
          if (provisional.status === 180 || provisional.status === 183) this.setState("ringing");
        });
        if ((response.status === 401 || response.status === 407) && !auth) {
          this.ack(response, cseq, branchOf(response.get("via")));
          auth = await this.authorize(response);
          continue;
        }
        if (response.status >= 300) {
          this.ack(response, cseq, branchOf(response.get("via")));
          this.end(`${response.status} ${response.reason}`);
          return;
        }
        this.remoteUri = response.get("to");
        this.target = uriOf(response.get("contact")) || this.peerUri;
        this.ack(response, cseq, "z9hG4bK" + randomToken(12));
        if (this.state === "ended") {          // CANCEL crossed the 200 OK: BYE it
          ua.request("BYE", this.target, this.dialogHeaders("BYE", ++this.localCSeq));
          return;
        }
        await pc.setRemoteDescription({ type: "answer", sdp: response.body });
        this.setState("connected");
        return;
      }
    }

    authorize(response) { return this.ua.authorize(response, "INVITE", this.peerUri); }

    ack(response, cseq, branch) {
      const to = response.get("to");
      const headers = [["Via", this.ua.via(branch)], ["From", this.localUri], ["To", to],
                       ["Call-ID", this.callId], ["CSeq", `${cseq} ACK`]];
      const uri = response.status < 300 ? (uriOf(response.get("contact")) || this.peerUri) : this.peerUri;
      this.ua.send(this.ua.build("ACK", uri, headers));
    }

    async answer(stream) {
      if (this.direction !== "incoming" || this.state !== "ringing") return;
      const pc = await this.makePeerConnection(stream);
      await pc.setRemoteDescription({ type: "offer", sdp: this.invite.body });
      await pc.setLocalDescription(await pc.createAnswer());
      await this.gathered(pc);
      this.ua.respond(this.invite, 200, "OK", [["Contact", this.ua.contact],
                      ["Content-Type", "application/sdp"]], pc.localDescription.sdp);
      this.localUri = this.invite.get("to") + (tagOf(this.invite.get("to")) ? "" : `;tag=${this.localTag}`);
      this.setState("connected");
    }

    request(message) {
      const ua = this.ua;
      switch (message.method) {
        case "ACK":
          return;
        case "BYE":
          ua.respond(message, 200, "OK");
          this.end("remote hangup");
          return;
        case "CANCEL":
          ua.respond(message, 200, "OK");
          if (this.state === "ringing" && this.direction === "incoming") {
            ua.respond(this.invite, 487, "Request Terminated");
            this.end("cancelled");
          }
          return;
        case "INVITE":
          // A re-INVITE (hold, refresh): answer with the current description.
          if (this.pc && this.pc.localDescription) {
            ua.respond(message, 200, "OK", [["Contact", ua.contact], ["Content-Type", "application/sdp"]],
                       this.pc.localDescription.sdp);
          } else {
            ua.respond(message, 488, "Not Acceptable Here");
          }
          return;
        default:
          ua.respond(message, message.method === "INFO" || message.method === "OPTIONS" ? 200 : 405,
                     message.method === "INFO" || message.method === "OPTIONS" ? "OK" : "Method Not Allowed");
      }
    }

    hangup() {
      const ua = this.ua;
      if (this.state === "ended") return;
      if (this.direction === "incoming" && this.state === "ringing") {
        ua.respond(this.invite, 486, "Busy Here");
      } else if (this.state === "connected") {
        const cseq = ++this.localCSeq + (this.remoteCSeq || 0);
        const headers = this.direction === "incoming"
          ? [["From", this.localUri], ["To", this.remoteUri], ["Call-ID", this.callId], ["CSeq", `${cseq} BYE`]]
          : this.dialogHeaders("BYE", cseq);
        ua.request("BYE", this.target || this.peerUri, headers);
      } else if (this.direction === "outgoing") {
        // CANCEL goes with the INVITE's branch (RFC 3261 section 9.1).
        if (this.inviteBranch) {
          ua.send(ua.build("CANCEL", this.peerUri, [
            ["Via", ua.via(this.inviteBranch)], ["From", this.localUri], ["To", `<${this.peerUri}>`],
            ["Call-ID", this.callId], ["CSeq", `${this.inviteCSeq} CANCEL`]]));
        }
      }
      this.end("hung up");
    }

    end(detail) {
      if (this.state === "ended") return;
      if (this.pc) this.pc.close();
      this.ua.calls.delete(this.callId);
      this.setState("ended", detail);
    }

    sendDTMF(tones) {
      const sender = this.pc && this.pc.getSenders().find(s => s.track && s.track.kind === "audio");
      if (!sender || !sender.dtmf || !sender.dtmf.canInsertDTMF) return false;
      // insertDTMF replaces what is still queued: keep it, so quick keys are all sent.
      sender.dtmf.insertDTMF(sender.dtmf.toneBuffer + tones, 160, 70);
      return true;
    }

    setMuted(muted) {
      if (this.localStream) for (const track of this.localStream.getAudioTracks()) track.enabled = !muted;
    }
  }

  return { UserAgent, Call, md5, sha256, parse };
})();
