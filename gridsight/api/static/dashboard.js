// The command-centre dashboard: figures, queue, live alerts, map, camera health.
"use strict";
(() => {
  const { api, el, t, hazardName, stateName, placeName, fmtDuration, fmtTime, fmtDateTime, slaText, debounce } = GS;
  let orders = [];
  let workers = [];

  async function loadFigures() {
    const f = await api("GET", "/api/v1/work-orders/stats");
    GS.setClock(f);
    const note = document.getElementById("stream-time");
    note.hidden = !f.stream_time;
    note.textContent = f.stream_time ? `${t("stream_time_note")} ${fmtDateTime(f.now, f.timezone)}` : "";
    const pct = (x) => (x.share === null ? "–" : `${Math.round(x.share * 100)}%`);
    document.getElementById("fig-orders").textContent = f.orders;
    document.getElementById("fig-open").textContent = f.open;
    const d = document.getElementById("fig-dispatch"), c = document.getElementById("fig-close");
    d.textContent = pct(f.dispatch_within_sla);
    d.title = `${f.dispatch_within_sla.met} / ${f.dispatch_within_sla.total}`;
    c.textContent = pct(f.close_within_sla);
    c.title = `${f.close_within_sla.met} / ${f.close_within_sla.total}`;
  }

  async function act(order, to, button) {
    button.disabled = true;
    try {
      await api("POST", `/api/v1/work-orders/${encodeURIComponent(order.id)}/transitions`, { to, expected_version: order.version });
    } catch (err) {
      alert(`${t("action_failed")}: ${err.message}`);
    }
    refreshOrders();
  }

  function renderOrders() {
    const body = document.querySelector("#orders tbody");
    const now = GS.now();
    body.replaceChildren(...orders.map((o) => {
      const sla = slaText(o, now);
      const actions = (o.allowed || []).map((to) =>
        el("button", { type: "button", class: "act", "data-to": to, onclick: (ev) => act(o, to, ev.target) }, t("do." + to, to)));
      return el("tr", { "data-order": o.id, class: "state-" + o.state },
        el("td", { class: "mono" }, el("a", { href: `/orders/${encodeURIComponent(o.id)}` }, o.id)),
        el("td", {}, hazardName(o.hazard)),
        el("td", {}, `${placeName(o.village)} / ${o.grid}`),
        el("td", { class: "state" }, stateName(o.state)),
        el("td", {}, o.assignee || t("unassigned")),
        el("td", { class: "sla " + sla.cls }, sla.text),
        el("td", {}, ...actions));
    }));
    document.getElementById("orders-empty").hidden = orders.length > 0;
    GSMap.live(workers, orders, now);
  }

  async function loadOrders() {
    const page = await api("GET", "/api/v1/work-orders?open=true&limit=200");
    orders = page.items;
    GS.setClock(page);
    renderOrders();
  }

  async function loadWorkers() {
    workers = await api("GET", "/api/v1/workers/on-duty");
    GSMap.live(workers, orders, GS.now());
  }

  function eventItem(e) {
    // A snapshot the server cannot serve (another run's folder) shows as none, not broken.
    const none = () => el("div", { class: "thumb none" });
    const img = e.snapshot_url
      ? el("img", { src: e.snapshot_url, alt: e.id, loading: "lazy", class: "thumb", onerror: (ev) => ev.target.replaceWith(none()) })
      : none();
    return el("li", { "data-event": e.id, class: "phase-" + e.last_phase },
      img,
      el("div", {},
        el("b", {}, hazardName(e.hazard)), " ",
        el("span", { class: "phase" }, t("phase." + e.last_phase, e.last_phase)),
        el("br"),
        el("span", { class: "muted" }, `${e.camera} · ${placeName(e.village)}/${e.grid} · ${fmtTime(e.started_at)}`),
        e.clip_url ? " · " : null,
        e.clip_url ? el("a", { href: e.clip_url, target: "_blank", rel: "noopener", class: "clip" }, t("event_clip")) : null));
  }

  async function loadEvents() {
    const page = await api("GET", "/api/v1/events?limit=20");
    const list = document.getElementById("events");
    list.replaceChildren(...page.items.map(eventItem));
    document.getElementById("events-empty").hidden = page.items.length > 0;
  }

  async function loadCameras() {
    const cams = await api("GET", "/api/v1/cameras");
    const body = document.querySelector("#cameras tbody");
    // The camera's whole status: its reader's state, a view fault (moved, covered,
    // blinded) and "degraded" when it drops more than the configured share of frames.
    const camState = (c) => {
      if (!c.enabled) return t("cam.disabled", "disabled");
      const parts = [t("cam." + c.state, c.state)];
      if (c.view && c.view !== "ok") parts.push(t("view." + c.view, c.view));
      if (c.degraded) {
        parts.push(t("cam_degraded", "degraded").replace("{share}",
          Math.round(c.drop_share * 100) + "%"));
      }
      return parts.join(" · ");
    };
    // How long ago the engine processed the camera's last frame (wall clock; the stream's
    // own time, which a file or a recording may keep far from now, is the cell's title).
    const lastFrame = (c) => (c.last_frame_age_s === null || c.last_frame_age_s === undefined
      ? t("last_frame_none")
      : t("last_frame_ago").replace("{age}", fmtDuration(c.last_frame_age_s)));
    // In a cluster (gridsight serve --nats) each camera names the node that runs it: the
    // node column shows only when some camera has one.
    const clustered = cams.items.some((c) => c.node);
    document.querySelectorAll("#cameras th.cam-node").forEach((th) => { th.hidden = !clustered; });
    const nodeCell = (c) => (clustered
      ? [el("td", { class: "cam-node", title: c.epoch ? t("cam_epoch").replace("{epoch}", c.epoch) : "" }, c.node || "")]
      : []);
    const camClass = (c) => "cam-" + c.state + (c.view && c.view !== "ok" ? " cam-view-fault" : "")
      + (c.degraded ? " cam-degraded" : "");
    body.replaceChildren(...cams.items.map((c) =>
      el("tr", { "data-camera": c.id, class: camClass(c),
                 title: c.gated ? `${c.gated} gated (still scene)` : "" },
        el("td", { title: c.name }, c.id),
        ...nodeCell(c),
        el("td", { class: "state" }, camState(c)),
        el("td", {}, c.fps.toFixed(1)),
        el("td", {}, c.drops),
        el("td", {}, c.reconnects),
        el("td", { class: "last-frame", title: t("last_frame_stream_ts").replace("{ts}", c.stream_ts.toFixed(0)) },
          lastFrame(c)),
        el("td", { class: "error" }, c.last_error || ""))));
  }

  const refreshOrders = debounce(() => { loadOrders(); loadFigures(); loadWorkers(); }, 150);
  const refreshEvents = debounce(loadEvents, 150);
  const refreshCameras = debounce(loadCameras, 300);

  document.addEventListener("DOMContentLoaded", async () => {
    await GSMap.load().catch(() => {});
    await Promise.all([loadFigures(), loadOrders(), loadEvents(), loadCameras(), loadWorkers()]);
    GS.stream(["event", "work_order", "camera"], {
      event: refreshEvents,
      work_order: refreshOrders,
      camera: refreshCameras,
    });
    setInterval(renderOrders, 1000);   // SLA countdowns
    setInterval(loadCameras, 5000);    // fps and drops change without events
    setInterval(loadFigures, 30000);
  });
})();
