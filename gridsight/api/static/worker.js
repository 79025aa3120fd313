// The grid worker's phone page: my orders; acknowledge, on site, resolve with photo + note.
"use strict";
(() => {
  const { api, el, t, hazardName, stateName, placeName, fmtTime, slaText, debounce } = GS;
  const FIELD_STEPS = ["acknowledged", "on_site", "resolved"];
  let orders = [];

  async function step(order, to, card) {
    const buttons = card.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const body = { to, expected_version: order.version };
      if (to === "resolved") {
        const note = card.querySelector("textarea").value.trim();
        const file = card.querySelector("input[type=file]").files[0];
        if (note) body.note = note;
        if (file) {
          const form = new FormData();
          form.append("photo", file);
          const up = await api("POST", `/api/v1/work-orders/${encodeURIComponent(order.id)}/photos`, form, true);
          body.photo = up.photo;
        }
      }
      await api("POST", `/api/v1/work-orders/${encodeURIComponent(order.id)}/transitions`, body);
    } catch (err) {
      card.querySelector(".error").textContent = `${t("action_failed")}: ${err.message}`;
    }
    refresh();
  }

  // geo: URI (RFC 5870) of the order's place, from the town's km frame and its origin:
  // the phone opens its map app there. None without a configured origin.
  function mapLink(o) {
    const origin = document.getElementById("my-orders").dataset.geoOrigin;
    if (!origin || o.x_km === null || o.y_km === null) return null;
    const [lat0, lon0] = origin.split(",").map(Number);
    const lat = lat0 + o.y_km / 110.574;
    const lon = lon0 + o.x_km / (111.320 * Math.cos((lat0 * Math.PI) / 180));
    const at = `${lat.toFixed(6)},${lon.toFixed(6)}`;
    return el("a", { class: "map-link", href: `geo:${at}?q=${at}` }, " · ", t("open_map"));
  }

  function card(o, now) {
    const sla = slaText(o, now);
    const allowed = (o.allowed || []).filter((s) => FIELD_STEPS.includes(s));
    const node = el("article", { class: "card state-" + o.state, "data-order": o.id },
      el("h2", {}, hazardName(o.hazard)),
      el("p", {}, el("span", { class: "state" }, stateName(o.state)), " · ", el("span", { class: "sla " + sla.cls }, sla.text)),
      el("p", { class: "muted" }, `${placeName(o.village)} / ${o.grid}${o.camera ? " · " + o.camera : ""} · ${fmtTime(o.created_at)}`),
      o.event_id ? el("img", { class: "snap", src: `/api/v1/work-orders/${encodeURIComponent(o.id)}/snapshot`, alt: hazardName(o.hazard), loading: "lazy" }) : null,
      // A camera order's title is the system's own (hazard at camera), shown above already.
      o.title && o.source !== "camera" ? el("p", {}, o.title) : null,
      el("p", { class: "links" },
        el("a", { href: `/orders/${encodeURIComponent(o.id)}` }, t("order_details")),
        mapLink(o)));
    if (allowed.includes("resolved")) {
      node.append(
        el("label", {}, t("note"), el("textarea", { rows: 2, name: "note" })),
        el("label", {}, t("photo"), el("input", { type: "file", accept: "image/jpeg,image/png,image/webp", capture: "environment", name: "photo" })));
    }
    const row = el("div", { class: "actions" });
    for (const to of allowed) {
      row.append(el("button", { type: "button", class: "big act", "data-to": to, onclick: () => step(o, to, node) }, t("do." + to, to)));
    }
    node.append(row, el("p", { class: "error", role: "alert" }));
    return node;
  }

  function render() {
    const now = GS.now();
    const main = document.getElementById("my-orders");
    // Keep a card that is being filled in (note typed, photo chosen) as it is.
    const busy = main.querySelector("textarea:focus, input[type=file]:focus");
    if (busy) return;
    main.replaceChildren(...orders.map((o) => card(o, now)));
    document.getElementById("my-empty").hidden = orders.length > 0;
  }

  async function load() {
    const page = await api("GET", "/api/v1/work-orders?open=true&limit=100");
    orders = page.items;
    GS.setClock(page);
    render();
  }

  const refresh = debounce(load, 150);

  document.addEventListener("DOMContentLoaded", async () => {
    await load();
    GS.stream(["work_order"], { work_order: refresh });
    setInterval(load, 30000);  // an order reassigned away sends nothing to this worker
    setInterval(() => {
      const now = GS.now();
      document.querySelectorAll("#my-orders .card").forEach((c) => {
        const o = orders.find((x) => x.id === c.dataset.order);
        const cell = c.querySelector(".sla");
        if (o && cell) { const s = slaText(o, now); cell.textContent = s.text; cell.className = "sla " + s.cls; }
      });
    }, 1000);
  });
})();
