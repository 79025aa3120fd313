// The dashboard's alarm: orders waiting for an operator to verify them. Its own clock
// (a poll every 5 s and a tick every second), so it rings even if the live stream is down.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("alarm");
  if (!box) return;
  const count = document.getElementById("alarm-count");
  const oldest = document.getElementById("alarm-oldest");
  const soundBtn = document.getElementById("alarm-sound");
  let waiting = [];          // created_at of the orders in state new
  let offset = 0;            // server clock - this machine's (stream-time stores)
  let soundOn = localStorage.getItem("gridsight_alarm_sound") === "on";
  let audio = null;

  function beep() {
    if (!soundOn) return;
    audio = audio || new AudioContext();
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  }

  function showSound() {
    soundBtn.textContent = GS.t(soundOn ? "alarm_sound_off" : "alarm_sound_on");
    soundBtn.setAttribute("aria-pressed", soundOn ? "true" : "false");
  }
  soundBtn.addEventListener("click", () => {
    soundOn = !soundOn;
    localStorage.setItem("gridsight_alarm_sound", soundOn ? "on" : "off");
    if (soundOn) { audio = audio || new AudioContext(); audio.resume(); }
    showSound();
  });
  showSound();

  function render() {
    const now = Date.now() / 1000 + offset;
    box.hidden = waiting.length === 0;
    box.classList.toggle("ringing", waiting.length > 0);
    count.textContent = String(waiting.length);
    oldest.textContent = waiting.length ? GS.fmtDuration(now - Math.min(...waiting)) : "";
  }

  async function poll() {
    try {
      const page = await GS.api("GET", "/api/v1/work-orders?state=new&limit=500");
      offset = page.now - Date.now() / 1000;
      waiting = page.items.map((o) => o.created_at);
      render();
      if (waiting.length) beep();
    } catch (err) {
      // The next poll tries again; the banner keeps its last state.
    }
  }
  poll();
  setInterval(poll, 5000);
  setInterval(render, 1000);
});
