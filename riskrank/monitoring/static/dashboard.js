// Manager dashboard: fetches /v1/metrics/dashboard with the manager's bearer token and draws SVG charts.
// No chart library and nothing fetched from elsewhere. The token lives in sessionStorage only and travels only
// in the Authorization header, never in a URL (URLs end up in access logs, history and Referer headers).
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = { model: "#1f5fa8", random: "#e07b00", impulse: "#2e8b57", fk_initiated: "#8e44ad" };
  const LABELS = { model: "Model", random: "Random sample", impulse: "Impulse", fk_initiated: "Agency-initiated" };
  const TOKEN_KEY = "riskrank-manager-token";
  const $ = (id) => document.getElementById(id);

  function el(name, attrs, parent, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function svg(container, width, height) {
    container.innerHTML = "";
    return el("svg", { viewBox: `0 0 ${width} ${height}`, width: width, height: height, role: "img" }, container);
  }

  function empty(container, message) {
    container.innerHTML = "";
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = message;
    container.appendChild(p);
  }

  // One number format for every figure on the page: the service's setting (number_locale), Swedish by default.
  let locale = "sv-SE";
  const missing = (v) => v === null || v === undefined;
  const fixed = (v, d) => Number(v).toLocaleString(locale, { minimumFractionDigits: d, maximumFractionDigits: d });
  const pct = (v) => (missing(v) ? "*" : fixed(100 * v, 1) + "\u00a0%");
  const num = (v, d) => (missing(v) ? "*" : Number(v).toLocaleString(locale, { maximumFractionDigits: d || 0 }));
  const msek = (v) => (missing(v) ? "*" : fixed(v / 1e6, 1) + " MSEK");
  const ratio = (v) => (missing(v) ? "–" : fixed(v, 2));

  function legend(root, names, x, y) {
    names.forEach((name, i) => {
      el("rect", { x: x + i * 150, y: y - 9, width: 10, height: 10, fill: COLOURS[name] || "#555" }, root);
      el("text", { x: x + i * 150 + 14, y: y, "font-size": 11 }, root, LABELS[name] || name);
    });
  }

  // The smallest 1, 2, 4 or 8 x 10^k at or above v, so that quarter ticks are round numbers.
  function niceMax(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    return [1, 2, 4, 8, 10].map((m) => m * p).find((c) => c >= v);
  }

  function axisY(root, left, top, height, width, max, format) {
    for (let i = 0; i <= 4; i++) {
      const value = (max * i) / 4;
      const y = top + height - (height * i) / 4;
      el("line", { x1: left, x2: left + width, y1: y, y2: y, stroke: "#e3e7ec" }, root);
      el("text", { x: left - 6, y: y + 4, "font-size": 10, "text-anchor": "end" }, root, format(value));
    }
  }

  function monthTicks(root, months, x, y) {
    const step = Math.max(1, Math.ceil(months.length / 12));
    months.forEach((m, i) => {
      if (i % step === 0) el("text", { x: x(i), y: y, "font-size": 10, "text-anchor": "middle" }, root, m);
    });
  }

  function hitRateChart(container, rows, selections) {
    if (!rows.length) return empty(container, "No closed investigations for this selection.");
    const months = [...new Set(rows.map((r) => r.month))].sort();
    const W = 640, H = 280, L = 48, T = 28, PW = W - L - 34, PH = H - T - 40;
    const root = svg(container, W, H);
    root.setAttribute("data-chart", "hit-rate");
    const max = Math.min(1, Math.ceil(Math.max(0.1, ...rows.map((r) => r.hit_rate || 0)) * 1.05 * 5) / 5);
    axisY(root, L, T, PH, PW, max, (v) => num(100 * v) + "\u00a0%");
    const x = (i) => L + (months.length === 1 ? PW / 2 : (PW * i) / (months.length - 1));
    const y = (v) => T + PH - (PH * v) / max;
    monthTicks(root, months, x, H - 12);
    legend(root, selections, L, 14);
    for (const selection of selections) {
      const points = months.map((m, i) => {
        const r = rows.find((row) => row.month === m && row.selection === selection);
        return r && r.hit_rate !== null ? { i, r } : null;
      });
      // Suppressed months break the line rather than being drawn as zero.
      let d = "", pen = false;
      points.forEach((p) => {
        if (!p) { pen = false; return; }
        d += (pen ? " L" : " M") + x(p.i).toFixed(1) + " " + y(p.r.hit_rate).toFixed(1);
        pen = true;
      });
      if (d) el("path", { d: d.trim(), fill: "none", stroke: COLOURS[selection] || "#555", "stroke-width": 2 }, root);
      points.forEach((p) => {
        if (!p) return;
        const c = el("circle", { class: "point", "data-series": selection, cx: x(p.i), cy: y(p.r.hit_rate), r: 3,
          fill: COLOURS[selection] || "#555" }, root);
        el("title", {}, c, `${p.r.month} ${LABELS[selection] || selection}: ${pct(p.r.hit_rate)} of ${num(p.r.closed)}`);
      });
    }
  }

  function intervalChart(container, items, name, band) {
    const usable = items.filter((it) => it.value !== null && it.value !== undefined);
    if (!usable.length) return empty(container, "Not enough model-selected and random-sample investigations for an estimate.");
    const W = 640, RH = 24, L = 150, T = 16, PW = W - L - 24;
    const H = T + RH * items.length + 30;
    const root = svg(container, W, H);
    root.setAttribute("data-chart", name);
    const values = items.flatMap((it) => [it.value, it.low, it.high]).filter((v) => v !== null && v !== undefined && v > 0);
    const lo = Math.min(0.5, ...values) / 1.1, hi = Math.max(2, ...values) * 1.1;
    const x = (v) => L + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * PW;
    if (band) el("rect", { x: x(band[0]), y: T - 4, width: x(band[1]) - x(band[0]), height: RH * items.length + 4, fill: "#e8f5e9" }, root);
    [0.25, 0.5, 0.8, 1, 1.25, 2, 4, 8].filter((t) => t >= lo && t <= hi).forEach((t) => {
      el("line", { x1: x(t), x2: x(t), y1: T - 4, y2: H - 24, stroke: t === 1 ? "#888" : "#ddd" }, root);
      el("text", { x: x(t), y: H - 10, "font-size": 10, "text-anchor": "middle" }, root, num(t, 2));
    });
    items.forEach((it, i) => {
      const y = T + i * RH + RH / 2;
      el("text", { x: L - 8, y: y + 4, "font-size": 11, "text-anchor": "end" }, root, it.label);
      const flagged = band && it.value !== null && (it.value < band[0] || it.value > band[1]);
      const colour = flagged ? "#c62828" : "#1f5fa8";
      if (it.low !== null && it.low !== undefined && it.high > 0) el("line", { class: "interval", x1: x(Math.max(it.low, lo)), x2: x(it.high), y1: y, y2: y, stroke: colour, "stroke-width": 2 }, root);
      if (it.value > 0) {
        const c = el("circle", { class: "point", cx: x(it.value), cy: y, r: 5, fill: colour }, root);
        el("title", {}, c, `${it.label}: ${ratio(it.value)}` + (it.low ? ` (${ratio(it.low)}–${ratio(it.high)})` : ""));
      } else {
        el("text", { x: L + 4, y: y + 4, "font-size": 10, fill: "#888" }, root, "no estimate");
      }
    });
  }

  function detectedChart(container, rows) {
    const shown = rows.filter((r) => !r.suppressed);
    if (!shown.length) return empty(container, "No detected amounts to show.");
    const W = 640, H = 260, L = 64, T = 28, PW = W - L - 16, PH = H - T - 40;
    const root = svg(container, W, H);
    root.setAttribute("data-chart", "detected");
    const months = rows.map((r) => r.month);
    const max = niceMax(Math.max(1, ...shown.map((r) => Math.max(r.detected_sek, r.prevented_sek))) * 1.05);
    axisY(root, L, T, PH, PW, max, (v) => num(v / 1e6, 2) + " M");
    const slot = PW / months.length, bar = Math.max(1, slot * 0.4);
    const y = (v) => T + PH - (PH * v) / max;
    monthTicks(root, months, (i) => L + slot * i + slot / 2, H - 12);
    el("rect", { x: L, y: 5, width: 10, height: 10, fill: "#1f5fa8" }, root);
    el("text", { x: L + 14, y: 14, "font-size": 11 }, root, "Detected SEK");
    el("rect", { x: L + 130, y: 5, width: 10, height: 10, fill: "#9ccc65" }, root);
    el("text", { x: L + 144, y: 14, "font-size": 11 }, root, "Prevented SEK");
    rows.forEach((r, i) => {
      if (r.suppressed) return;
      [["detected_sek", "#1f5fa8", 0], ["prevented_sek", "#9ccc65", 1]].forEach(([key, colour, k]) => {
        const b = el("rect", { class: "bar", "data-series": key, x: L + slot * i + slot * 0.1 + k * bar, y: y(r[key]), width: bar,
          height: T + PH - y(r[key]), fill: colour }, root);
        el("title", {}, b, `${r.month}: ${key === "detected_sek" ? "detected" : "prevented"} ${msek(r[key])}`);
      });
    });
  }

  function driftChart(container, drift) {
    const rows = [];
    if (drift.score) rows.push(drift.score);
    (drift.features || []).forEach((f) => rows.push(f));
    if (!rows.length) {
      return empty(container, "No drift figures yet. Score drift needs at least 20 scored random-sample investigations both before " +
        "and in the last three months; feature drift: " + (drift.note || "not available") + ".");
    }
    const W = 1000, RH = 20, L = 230, T = 18, PW = W - L - 80;
    const H = T + RH * rows.length + 30;
    const root = svg(container, W, H);
    root.setAttribute("data-chart", "drift");
    // The axis stops at 1: beyond that every PSI means "shifted", and the thresholds stay readable.
    const max = Math.min(1, Math.max(0.3, ...rows.map((r) => r.psi || 0)) * 1.1);
    const x = (v) => L + (PW * Math.min(v, max)) / max;
    [[0.1, `${num(0.1, 1)} moderate`, "end"], [0.25, `${num(0.25, 2)} shift`, "start"]].forEach(([t, label, anchor]) => {
      el("line", { x1: x(t), x2: x(t), y1: T - 6, y2: H - 24, stroke: t === 0.1 ? "#f9a825" : "#c62828", "stroke-dasharray": "4,3" }, root);
      el("text", { x: x(t) + (anchor === "end" ? -3 : 3), y: H - 10, "font-size": 10, "text-anchor": anchor }, root, label);
    });
    const colour = { stable: "#66bb6a", moderate: "#f9a825", shift: "#c62828", unknown: "#999" };
    rows.forEach((r, i) => {
      const y = T + i * RH;
      el("text", { x: L - 8, y: y + 13, "font-size": 11, "text-anchor": "end" }, root, r.feature);
      const b = el("rect", { class: "bar", x: L, y: y + 3, width: Math.max(1, x(r.psi || 0) - L), height: RH - 6, fill: colour[r.status] || "#999" }, root);
      el("title", {}, b, `${r.feature}: PSI ${fixed(r.psi, 3)} (${r.status})`);
      el("text", { x: x(r.psi || 0) + 4, y: y + 13, "font-size": 10 }, root, fixed(r.psi, 3));
    });
    if (drift.reference_as_of) el("text", { x: 4, y: 12, "font-size": 10, fill: "#667" }, root, `features ${drift.reference_as_of} → ${drift.current_as_of}`);
  }

  function cards(data) {
    const s = data.summary, lift = data.lift;
    const items = [
      ["Closed investigations", num(s.closed)],
      ["Hit rate", pct(s.hit_rate)],
      ["Detected", msek(s.detected_sek)],
      ["Prevented", msek(s.prevented_sek)],
      ["Detected per SEK cost", missing(s.detected_per_sek_cost) ? "*" : fixed(s.detected_per_sek_cost, 2)],
      ["Police reports", num(s.police_reports)],
      ["Lift over random", ratio(lift.lift) + (lift.low ? ` (${ratio(lift.low)}–${ratio(lift.high)})` : "")],
    ];
    const root = $("cards");
    root.innerHTML = "";
    for (const [label, value] of items) {
      const card = document.createElement("div");
      card.className = "card";
      card.innerHTML = '<div class="label"></div><div class="value"></div>';
      card.querySelector(".label").textContent = label;
      card.querySelector(".value").textContent = value;
      root.appendChild(card);
    }
  }

  function render(data) {
    locale = data.number_locale || locale;
    $("notice").textContent = data.notice;
    const select = $("benefit");
    const current = select.value;
    if (select.options.length <= 1) {
      for (const b of data.benefits) {
        const o = document.createElement("option");
        o.value = b; o.textContent = b;
        select.appendChild(o);
      }
      select.value = current;
    }
    const m = data.model || {};
    $("model").textContent = "Model serving: " + (m.serving_version ? `version ${m.serving_version} (${m.source})` : "unknown");
    cards(data);
    hitRateChart($("chart-hit-rate"), data.hit_rate_by_month, data.selections);
    const liftItems = data.lift_by_quarter.map((q) => ({ label: q.period, value: q.lift, low: q.low, high: q.high }));
    liftItems.push({ label: "Whole period", value: data.lift.lift, low: data.lift.low, high: data.lift.high });
    intervalChart($("chart-lift"), liftItems, "lift", null);
    detectedChart($("chart-detected"), data.detected_by_month);
    const fairness = [];
    for (const r of data.fairness) {
      const sex = r.sex === "F" ? "Women" : "Men";
      fairness.push({ label: `${sex}: parity`, value: r.parity, low: r.parity_low, high: r.parity_high });
      if (!r.reference) fairness.push({ label: `${sex}: precision ratio`, value: r.precision_ratio, low: r.precision_ratio_low, high: r.precision_ratio_high });
    }
    intervalChart($("chart-fairness"), fairness, "fairness", data.fairness_policy.band);
    driftChart($("chart-drift"), data.drift);
    document.body.setAttribute("data-loaded-benefit", data.benefit || "");
  }

  function setStatus(text, isError) {
    const s = $("status");
    s.textContent = text;
    s.className = isError ? "status error" : "status";
  }

  let latest = 0;  // answers to earlier requests that come back late must not overwrite newer ones

  async function load() {
    const request = ++latest;
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return setStatus("Enter a manager token to load the figures.", false);
    const benefit = $("benefit").value;
    const query = new URLSearchParams();
    if (benefit) query.set("benefit", benefit);
    if ($("from").value) query.set("from", $("from").value);
    if ($("to").value) query.set("to", $("to").value);
    setStatus("Loading…", false);
    try {
      const response = await fetch("/v1/metrics/dashboard" + (query.toString() ? "?" + query : ""), {
        headers: { Authorization: "Bearer " + token, Accept: "application/json" },
      });
      const body = await response.json().catch(() => ({}));
      if (request !== latest) return;
      if (!response.ok) {
        const detail = typeof body.detail === "string" ? body.detail : response.statusText;
        return setStatus(`Could not load the figures (${response.status}): ${detail}`, true);
      }
      render(body);
      const period = $("from").value || $("to").value ? `, closed ${$("from").value || "…"} to ${$("to").value || "…"}` : "";
      setStatus(`Showing ${benefit || "all benefits"}${period}.`, false);
    } catch (err) {
      if (request !== latest) return;
      setStatus("Could not reach the service: " + err, true);
    }
  }

  function init() {
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("token").value.trim();
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      $("token").value = "";
      load();
    });
    for (const id of ["benefit", "from", "to"]) $(id).addEventListener("change", load);
    load();
  }

  document.addEventListener("DOMContentLoaded", init);
})();
