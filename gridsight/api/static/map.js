// The township map as SVG from the config's coordinates (km, x east, y north).
"use strict";
const GSMap = (() => {
  const NS = "http://www.w3.org/2000/svg";
  let town = null;
  const svg = () => document.getElementById("map");

  function node(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  }

  // km -> SVG user units: 10 units per km, y flipped (north up).
  const X = (x) => (x * 10).toFixed(2);
  const Y = (y) => ((town.extent_km[1] - y) * 10).toFixed(2);

  function drawBase() {
    const s = svg();
    const [w, h] = town.extent_km;
    s.setAttribute("viewBox", `-2 -2 ${w * 10 + 4} ${h * 10 + 4}`);
    s.replaceChildren();
    s.append(node("rect", { x: 0, y: 0, width: w * 10, height: h * 10, class: "town" }));
    const lang = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
    for (const g of town.grids) {
      s.append(node("circle", { cx: X(g.position[0]), cy: Y(g.position[1]), r: 0.8, class: "grid-dot" }));
    }
    for (const v of town.villages) {
      const gx = X(v.position[0]), gy = Y(v.position[1]);
      s.append(node("circle", { cx: gx, cy: gy, r: 1.8, class: "village" }));
      // Placeholder names carry a long note in brackets: the map shows the name only.
      const label = (lang === "zh" ? v.name : (v.name_en || v.name)).replace(/\s*[(（].*$/, "");
      s.append(node("text", { x: gx, y: (parseFloat(gy) - 2.6).toFixed(2), class: "label" }, label));
    }
    const cc = town.command_centre;
    s.append(node("rect", { x: X(cc.position[0]) - 1.5, y: Y(cc.position[1]) - 1.5, width: 3, height: 3, class: "centre" }));
    for (const c of town.cameras) {
      const m = node("path", {
        d: `M ${X(c.position[0])} ${(parseFloat(Y(c.position[1])) - 1.6).toFixed(2)} l 1.4 2.6 l -2.8 0 z`,
        class: "camera", "data-camera": c.id,
      });
      m.append(node("title", {}, `${c.id} ${c.name}`));
      s.append(m);
    }
    s.append(node("g", { id: "map-live" }));
  }

  async function load() {
    town = await GS.api("GET", "/api/v1/township");
    drawBase();
  }

  // Workers on duty (blue) and open orders (red, pulsing when overdue).
  function live(workers, orders, now) {
    if (!town) return;
    const g = document.getElementById("map-live");
    g.replaceChildren();
    for (const w of workers) {
      // Grid staff as dots; volunteers and others as smaller ones (there are hundreds).
      const r = w.role === "grid_worker" || w.busy ? 0.7 : 0.3;
      const c = node("circle", { cx: X(w.x_km), cy: Y(w.y_km), r, class: w.busy ? "worker busy" : "worker" });
      c.append(node("title", {}, w.id));
      g.append(c);
    }
    for (const o of orders) {
      if (o.x_km === null || o.y_km === null) continue;
      const overdue = (o.dispatched_at === null ? o.dispatch_due_at : o.close_due_at) < now;
      const c = node("circle", { cx: X(o.x_km), cy: Y(o.y_km), r: 1.4, class: overdue ? "order overdue" : "order", "data-order": o.id });
      c.append(node("title", {}, `${o.id} ${GS.hazardName(o.hazard)} ${GS.stateName(o.state)}`));
      g.append(c);
    }
  }

  return { load, live };
})();
