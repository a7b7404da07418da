// The page's LiveKit mode (?mode=livekit, or the Mode picker).
//
// The page asks the launcher for a room (POST /api/rooms: persona, the ?session= token, and the
// persona's metadata fields such as the coach's role, scenario and goal), joins it with the
// vendored livekit-client, publishes the microphone and plays the bot's audio. The bot's RTVI
// messages arrive as LiveKit data packets (UTF-8 JSON, as Pipecat's LiveKit transport publishes
// them) and go through the same onRtvi() as SmallWebRTC's data channel; the page's replies
// (client-ready, client-tool results) go back as reliable data packets.
//
// Uses index.html's globals: ui, $, onRtvi, setState, addTurn, watchBotLevel, disconnect, SESSION.
"use strict";

const SwitchboardLiveKit = (() => {
  const LIBRARY = "/static/vendor/livekit-client.umd.js";
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let loading = null;
  let greeted = false;  // client-ready sent to the bot

  function load() {
    if (window.LivekitClient) return Promise.resolve(window.LivekitClient);
    loading = loading || new Promise((ok, bad) => {
      const script = document.createElement("script");
      script.src = LIBRARY;
      script.onload = () => ok(window.LivekitClient);
      script.onerror = () => { loading = null; bad(new Error("could not load " + LIBRARY)); };
      document.head.appendChild(script);
    });
    return loading;
  }

  // The persona's metadata fields, as the caller filled them in.
  function metadata() {
    const out = {};
    for (const input of document.querySelectorAll("#meta-fields input")) {
      if (input.value.trim()) out[input.dataset.key] = input.value.trim();
    }
    return out;
  }

  function showFields(fields) {
    const box = $("meta-fields");
    box.textContent = "";
    for (const [key, meaning] of Object.entries(fields || {})) {
      const label = document.createElement("label");
      label.textContent = key + " ";
      const input = document.createElement("input");
      input.dataset.key = key;
      input.id = "meta-" + key;
      input.placeholder = meaning;
      label.appendChild(input);
      box.appendChild(label);
    }
  }

  async function requestRoom(persona) {
    const body = { persona, session: SESSION, metadata: metadata() };
    const res = await fetch("/api/rooms", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error("Could not get a room: " + (await res.text()));
    return res.json();
  }

  function onData(payload) {
    let msg;
    try { msg = JSON.parse(decoder.decode(payload)); } catch (_) { return; }
    if (msg && msg.label === "rtvi-ai") onRtvi(msg);
  }

  function send(obj) {
    const room = ui.lk;
    if (!room) return;
    Promise.resolve()
      .then(() => room.localParticipant.publishData(encoder.encode(JSON.stringify(obj)),
                                                    { reliable: true }))
      .catch((e) => console.warn("LiveKit data not sent:", e));
  }

  function greet() {  // RTVI's client-ready, once someone (the bot) is there to hear it
    if (greeted || !ui.lk || ui.lk.remoteParticipants.size === 0) return;
    greeted = true;
    send({ label: "rtvi-ai", type: "client-ready", id: crypto.randomUUID(),
           data: { version: "2.2.0", about: { library: "switchboard-page", library_version: "1" } } });
  }

  // Make `room` the page's call: its events drive the transcript, the state and the audio.
  function adopt(room) {
    const LK = window.LivekitClient;
    const E = LK.RoomEvent;
    ui.lk = room;
    greeted = false;
    window.switchboard.room = room;
    room.on(E.DataReceived, (payload) => onData(payload));
    room.on(E.ParticipantConnected, () => greet());
    room.on(E.TrackSubscribed, (track) => {
      if (track.kind !== "audio") return;
      track.attach($("bot-audio"));
      watchBotLevel(new MediaStream([track.mediaStreamTrack]));
    });
    room.on(E.ConnectionStateChanged, (state) => { window.switchboard.connection = state; });
    room.on(E.Disconnected, () => { if (ui.lk === room) disconnect(); });
    return room;
  }

  async function connect() {
    const persona = $("persona").value;
    if (ui.unready[persona]) { setState("error"); addTurn("bot", ui.personas[persona]); return; }
    $("transcript").textContent = "";
    setState("connecting");
    const LK = await load();
    const grant = await requestRoom(persona);
    window.switchboard.livekit = { room: grant.room, url: grant.url, call_id: grant.call_id };
    const room = adopt(new LK.Room());
    $("connect").textContent = "Hang up"; $("connect").classList.add("stop");
    try {
      await room.connect(grant.url, grant.token, { autoSubscribe: true });
      greet();
      await room.localParticipant.setMicrophoneEnabled(true);
    } catch (e) {
      if (ui.lk === room) disconnect();
      throw e;
    }
  }

  function leave() {
    const room = ui.lk;
    ui.lk = null;
    if (room) room.disconnect();
  }

  return { load, adopt, connect, leave, send, showFields, onData };
})();
window.SwitchboardLiveKit = SwitchboardLiveKit;
