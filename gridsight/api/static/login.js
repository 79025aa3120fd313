"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const body = {
      name: document.getElementById("login-name").value,
      password: document.getElementById("login-password").value,
    };
    try {
      const me = await GS.api("POST", "/api/v1/auth/login", body);
      // The server vetted ?next= (same-origin paths only); check the origin once more.
      const next = form.dataset.next ? new URL(form.dataset.next, location.origin) : null;
      const safe = next && next.origin === location.origin ? next.pathname + next.search : null;
      location.href = safe || (me.role === "worker" ? "/worker" : "/dashboard");
    } catch (err) {
      error.textContent = GS.t(err.status === 429 ? "login_throttled" : "login_failed");
    }
  });
});
