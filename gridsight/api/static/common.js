// gridsight pages: shared helpers (no framework, no build step).
"use strict";
const GS = (() => {
  const S = JSON.parse(document.getElementById("i18n").textContent);
  const ME = JSON.parse(document.getElementById("me").textContent);
  const PLACES = JSON.parse((document.getElementById("places") || { textContent: "{}" }).textContent);

  function t(key, fallback) {
    return Object.prototype.hasOwnProperty.call(S, key) ? S[key] : (fallback ?? key);
  }
  const hazardName = (h) => t("hazard." + h, h);
  const stateName = (s) => t("state." + s, s);
  const placeName = (village) => PLACES[village] || village;

  async function api(method, path, body, isForm) {
    const opts = { method, credentials: "same-origin", headers: { "X-Requested-With": "gridsight" } };
    if (body !== undefined) {
      if (isForm) { opts.body = body; } else {
        opts.headers["Content-Type"] = "application/json";
        opts.body = JSON.stringify(body);
      }
    }
    const r = await fetch(path, opts);
    if (r.status === 401 && !path.endsWith("/auth/login")) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname);
      throw new Error("unauthorized");
    }
    const type = r.headers.get("content-type") || "";
    const data = type.includes("json") ? await r.json() : null;
    if (!r.ok) {
      const msg = (data && (data.message || JSON.stringify(data.detail))) || r.statusText;
      const err = new Error(msg);
      err.status = r.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function fmtDuration(seconds) {
    const s = Math.max(0, Math.round(Math.abs(seconds)));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0"), rr = String(r).padStart(2, "0");
    return h ? `${h}:${mm}:${rr}` : `${mm}:${rr}`;
  }

  function fmtTime(epoch) {
    if (!epoch) return "";
    return new Date(epoch * 1000).toLocaleTimeString(document.documentElement.lang, { hour12: false });
  }

  // The orders' clock: the server's when the store was written on a stream's clock (a
  // demo's store read after the run: its orders carry the synthetic world's time), else
  // this machine's. setClock takes a work-order page or the stats (`now`, `stream_time`).
  let streamNow = null;
  function setClock(body) { streamNow = body && body.stream_time ? body.now : null; }
  function now() { return streamNow ?? Date.now() / 1000; }

  // A moment in a given IANA zone (the township's), naming the zone.
  function fmtDateTime(epoch, timeZone) {
    const opts = { hour12: false, timeZoneName: "short" };
    if (timeZone) opts.timeZone = timeZone;
    return new Date(epoch * 1000).toLocaleString(document.documentElement.lang, opts);
  }

  // The SLA cell: countdown to the clock that is running, or met/breached.
  function slaText(o, now) {
    if (!["closed", "cancelled", "rejected", "duplicate"].includes(o.state)) {
      const dispatching = o.dispatched_at === null;
      const due = dispatching ? o.dispatch_due_at : o.close_due_at;
      const left = due - now;
      const label = t(dispatching ? "sla_dispatch_in" : "sla_close_in");
      if (left < 0) return { text: `${t("sla_overdue")} ${fmtDuration(left)}`, cls: "overdue" };
      return { text: `${label} ${fmtDuration(left)}`, cls: left < 60 ? "soon" : "ok" };
    }
    const met = o.sla_close === "met";
    return { text: t(met ? "sla_met" : "sla_breached"), cls: met ? "ok" : "overdue" };
  }

  // Server-sent events with a live/offline indicator; EventSource reconnects by itself.
  function stream(topics, handlers) {
    const q = topics.map((x) => "topic=" + encodeURIComponent(x)).join("&");
    const es = new EventSource("/api/v1/events/stream?" + q);
    const live = document.getElementById("live");
    if (live) live.hidden = false;  // only pages with a live stream show its state
    es.onopen = () => { if (live) { live.textContent = t("live"); live.className = "live on"; } };
    es.onerror = () => { if (live) { live.textContent = t("offline"); live.className = "live off"; } };
    for (const [name, fn] of Object.entries(handlers)) {
      es.addEventListener(name, (ev) => fn(JSON.parse(ev.data)));
    }
    return es;
  }

  // Calls fn at most once per `ms`, the last call winning.
  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", async () => {
      await api("POST", "/api/v1/auth/logout");
      location.href = "/login";
    });
  });

  return { t, hazardName, stateName, placeName, api, el, fmtDuration, fmtTime, fmtDateTime, slaText, stream, debounce, setClock, now, ME };
})();
