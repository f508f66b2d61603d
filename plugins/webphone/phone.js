// The txpbx web phone: the page's controls around TxSIP.UserAgent.
// window.phone exposes the state for people poking around (and for tests).
"use strict";

(() => {
  const $ = id => document.getElementById(id);
  const logBox = $("log");
  const log = text => {
    logBox.textContent = (logBox.textContent + text + "\n").split("\n").slice(-200).join("\n");
    logBox.scrollTop = logBox.scrollHeight;
  };
  const defaultServer = () => {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const base = location.pathname.replace(/\/phone\/.*$/, "");
    return `${scheme}//${location.host}${base}/ws`;
  };

  const phone = window.phone = {
    ua: null, call: null, registered: false, callState: "idle", remoteStream: null,
    localStream: null, muted: false, history: [],
  };

  const params = new URLSearchParams(location.search);
  $("server").value = params.get("server") || defaultServer();
  if (params.get("user")) $("user").value = params.get("user");

  function setRegistration(registered, detail) {
    phone.registered = registered;
    $("regstatus").value = registered ? `registered (${detail})` : `not registered (${detail})`;
    $("call").disabled = !registered || !!phone.call;
    $("unregister").disabled = !registered;
  }

  function setCallState(state, detail) {
    phone.callState = state;
    phone.history.push(state);
    $("callstatus").value = detail ? `${state} (${detail})` : state;
    const inCall = state !== "ended" && state !== "idle";
    $("hangup").disabled = !inCall;
    $("answer").disabled = !(state === "ringing" && phone.call && phone.call.direction === "incoming");
    $("mute").disabled = state !== "connected";
    $("call").disabled = inCall || !phone.registered;
    if (state === "ended") {
      phone.call = null;
      phone.muted = false;
      $("mute").setAttribute("aria-pressed", "false");
      $("mute").textContent = "Mute";
    }
  }

  async function microphone() {
    if (!phone.localStream) {
      phone.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    }
    return phone.localStream;
  }

  function watch(call) {
    phone.call = call;
    call.onState = (state, detail) => setCallState(state, detail);
    call.onRemoteStream = stream => {
      phone.remoteStream = stream;
      $("remote").srcObject = stream;
    };
  }

  $("login").addEventListener("submit", async event => {
    event.preventDefault();
    if (phone.ua) phone.ua.close();
    const ua = new TxSIP.UserAgent({
      server: $("server").value, user: $("user").value.trim(), secret: $("secret").value,
      domain: location.hostname, log,
    });
    phone.ua = ua;
    ua.onRegistration = setRegistration;
    ua.onIncoming = call => { watch(call); setCallState("ringing", `call from ${call.peerUri}`); };
    try {
      await ua.connect();
      await ua.register();
    } catch (e) {
      setRegistration(false, String(e.message || e));
    }
  });

  $("unregister").addEventListener("click", async () => {
    if (phone.ua) await phone.ua.unregister();
  });

  $("call").addEventListener("click", async () => {
    const number = $("number").value.trim();
    if (!number || !phone.ua) return;
    try {
      const call = phone.ua.call(number, await microphone());
      watch(call);
    } catch (e) {
      setCallState("ended", String(e.message || e));
    }
  });

  $("answer").addEventListener("click", async () => {
    if (phone.call) await phone.call.answer(await microphone());
  });

  $("hangup").addEventListener("click", () => { if (phone.call) phone.call.hangup(); });

  $("mute").addEventListener("click", () => {
    if (!phone.call) return;
    phone.muted = !phone.muted;
    phone.call.setMuted(phone.muted);
    $("mute").setAttribute("aria-pressed", String(phone.muted));
    $("mute").textContent = phone.muted ? "Unmute" : "Mute";
  });

  for (const key of document.querySelectorAll("#keypad button")) {
    key.addEventListener("click", () => {
      if (phone.call && phone.call.state === "connected") phone.call.sendDTMF(key.textContent);
      else $("number").value += key.textContent;
    });
  }
})();
