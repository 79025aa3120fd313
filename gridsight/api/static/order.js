// The order page: tick the SLA clocks, add notes (the rest is rendered by the server).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("order");
  if (!box) return;
  const id = box.dataset.order;
  // The orders' clock may be a stream's (a demo): keep the server's offset.
  const offset = Number(box.dataset.now) - Date.now() / 1000;
  const tick = () => {
    const now = Date.now() / 1000 + offset;
    for (const clock of document.querySelectorAll(".clock")) {
      if (clock.dataset.done || !clock.className.includes("sla-ongoing")) continue;
      const left = Number(clock.dataset.due) - now;
      const val = clock.querySelector(".val");
      val.textContent = left < 0 ? `${GS.t("sla_overdue")} ${GS.fmtDuration(left)}` : GS.fmtDuration(left);
      clock.classList.toggle("overdue", left < 0);
    }
  };
  tick();
  setInterval(tick, 1000);

  const form = document.getElementById("note-form");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const text = document.getElementById("note-text");
      const error = document.getElementById("note-error");
      error.textContent = "";
      try {
        await GS.api("POST", `/api/v1/work-orders/${encodeURIComponent(id)}/notes`, { note: text.value });
        location.reload();
      } catch (err) {
        error.textContent = err.message;
      }
    });
  }
});
