// Client tools: what the bot asks this page to do, over RTVI ("client-tool-call" server
// messages; index.html's handleServerMessage sends the answer back as a client message).
// Each tool does the real thing where the browser can, and otherwise answers an honest
// { error } that the bot tells the caller: no tool pretends to have worked.
//
// Uses index.html's global: ui (ui.lk is set in LiveKit mode, whose data packets are smaller).
"use strict";

const SwitchboardDevice = (() => {
  // The largest data URL one message can carry: SmallWebRTC's data channel takes 256 KiB
  // messages, LiveKit's reliable data packets about 15 KiB.
  const IMAGE_BUDGET = { webrtc: 180000, livekit: 14000 };
  const MAX_SIDE = 1280;
  let torch = null;  // the camera track that keeps the flashlight on

  const isMobile = () => (navigator.userAgentData ? navigator.userAgentData.mobile
    : /Mobi|Android/i.test(navigator.userAgent));

  function encode(source, width, height, budget) {
    // One JPEG frame under the budget: lower the quality first, then the size.
    let scale = Math.min(1, MAX_SIDE / Math.max(width, height, 1));
    let quality = 0.8;
    for (;;) {
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
      const url = canvas.toDataURL("image/jpeg", quality);
      if (url.length <= budget) return { image: url, width: canvas.width, height: canvas.height };
      if (canvas.width < 96) return { error: "the screenshot is too large to send" };
      if (quality > 0.5) quality -= 0.15; else scale *= 0.7;
    }
  }

  async function takeScreenshot() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
      return { error: "this browser cannot share a screen" };
    }
    let stream;
    try {  // the browser asks the caller which screen, window or tab to share
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (e) {
      return { error: e.name === "NotAllowedError" ? "the caller did not share a screen"
                                                   : "screen sharing failed: " + e.name };
    }
    try {
      const video = document.createElement("video");
      video.muted = true; video.playsInline = true; video.srcObject = stream;
      await video.play();
      await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 150)));
      if (!video.videoWidth) return { error: "the shared screen sent no picture" };
      const budget = ui.lk ? IMAGE_BUDGET.livekit : IMAGE_BUDGET.webrtc;
      return encode(video, video.videoWidth, video.videoHeight, budget);
    } finally {
      stream.getTracks().forEach((t) => t.stop());  // one frame only: stop sharing at once
    }
  }

  async function setFlashlight(on) {
    if (!on) {
      if (torch) { torch.stop(); torch = null; }
      return { flashlight: "off" };
    }
    const md = navigator.mediaDevices;
    if (!md || !md.getSupportedConstraints || !md.getSupportedConstraints().torch) {
      return { error: "this browser cannot switch a flashlight" };
    }
    let stream;
    try {
      stream = await md.getUserMedia({ video: { facingMode: { ideal: "environment" } } });
    } catch (e) {
      return { error: "the camera is not available: " + e.name };
    }
    const track = stream.getVideoTracks()[0];
    const caps = track.getCapabilities ? track.getCapabilities() : {};
    if (!caps.torch) {
      track.stop();
      return { error: "this device has no flashlight the browser can switch" };
    }
    await track.applyConstraints({ advanced: [{ torch: true }] });
    if (torch) torch.stop();
    torch = track;
    return { flashlight: "on" };
  }

  function vibrate(milliseconds) {
    // Desktop Chromium has navigator.vibrate but no motor: it would "succeed" doing nothing.
    if (typeof navigator.vibrate !== "function" || !isMobile()) {
      return { error: "this device cannot vibrate" };
    }
    const ms = Math.max(50, Math.min(5000, Math.round(Number(milliseconds) || 200)));
    return navigator.vibrate(ms) ? { vibrated_ms: ms }
      : { error: "the browser did not allow vibration (the page needs a tap first)" };
  }

  async function getBattery() {
    if (!navigator.getBattery) return { error: "battery level is not available here" };
    const b = await navigator.getBattery();
    return { level_percent: Math.round(b.level * 100), charging: b.charging };
  }

  async function getLocation() {
    const pos = await new Promise((ok, bad) =>
      navigator.geolocation.getCurrentPosition(ok, bad, { timeout: 5000 }));
    return { latitude: pos.coords.latitude, longitude: pos.coords.longitude };
  }

  async function run(name, args) {
    switch (name) {
      case "get_battery_level": return getBattery();
      case "get_location": return getLocation();
      case "take_screenshot": return takeScreenshot();
      case "set_flashlight": return setFlashlight(Boolean(args.on));
      case "vibrate": return vibrate(args.milliseconds);
      default: return { error: "this device cannot " + name };
    }
  }

  return { run, encode, isMobile };
})();
