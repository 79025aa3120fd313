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
      const next = new URLSearchParams(location.search).get("next");
      const safe = next && next.startsWith("/") && !next.startsWith("//") ? next : null;
      location.href = safe || (me.role === "worker" ? "/worker" : "/dashboard");
    } catch (err) {
      error.textContent = GS.t(err.status === 429 ? "login_throttled" : "login_failed");
    }
  });
});
