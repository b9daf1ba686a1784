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

  // Axis titles name what an axis measures and in which unit; the x title sits under the tick labels, the y title
  // turned along the axis.
  function axisTitles(root, W, H, left, top, plotHeight, xTitle, yTitle) {
    if (xTitle) el("text", { class: "axis-title", "data-axis": "x", x: left + (W - left) / 2, y: H - 4, "font-size": 11,
      "text-anchor": "middle" }, root, xTitle);
    if (yTitle) el("text", { class: "axis-title", "data-axis": "y", x: 0, y: 0, "font-size": 11, "text-anchor": "middle",
      transform: `translate(12 ${top + plotHeight / 2}) rotate(-90)` }, root, yTitle);
  }

  // The figures behind a chart: a table (folded under its chart) and the same rows as a CSV file, made here as a
  // Blob so that no inline script or extra route is needed. CSV values are raw (a point as decimal mark, shares
  // as 0-1), so any program reads them; an empty value is suppressed or not computable, as the "status" column says.
  const blobs = {};
  function cell(value, column, row) {
    if (row.suppressed && column.measure) return "*";
    if (missing(value)) return "–";
    return column.format ? column.format(value) : String(value);
  }
  function csvField(value) {
    const text = missing(value) ? "" : String(value);
    return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function dataView(name, columns, rows) {
    const box = $("data-" + name);
    box.innerHTML = "";
    if (blobs[name]) URL.revokeObjectURL(blobs[name]);
    delete blobs[name];
    if (!rows.length) return;
    const details = document.createElement("details");
    details.className = "data-view";
    const summary = document.createElement("summary");
    summary.textContent = "Show the figures as a table";
    details.appendChild(summary);
    const table = document.createElement("table");
    table.setAttribute("data-table", name);
    const head = table.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement("th");
      th.textContent = c.label;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const r of rows) {
      const tr = body.insertRow();
      for (const c of columns) tr.insertCell().textContent = cell(c.value ? c.value(r) : r[c.key], c, r);
    }
    details.appendChild(table);
    const lines = [columns.map((c) => csvField(c.label)).join(",")];
    for (const r of rows) {
      lines.push(columns.map((c) => csvField(r.suppressed && c.measure ? null : (c.raw ? c.raw(r) : c.value ? c.value(r) : r[c.key]))).join(","));
    }
    blobs[name] = URL.createObjectURL(new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" }));
    const link = document.createElement("a");
    link.className = "csv";
    link.href = blobs[name];
    link.download = `riskrank-${name}.csv`;
    link.textContent = "Download CSV";
    box.append(details, link);
  }
  const status = (r) => (r.suppressed ? "suppressed (fewer than four persons)" : "");

  function hitRateChart(container, rows, selections) {
    if (!rows.length) return empty(container, "No closed investigations for this selection.");
    const months = [...new Set(rows.map((r) => r.month))].sort();
    const W = 640, H = 300, L = 62, T = 28, PW = W - L - 34, PH = H - T - 58;
    const root = svg(container, W, H);
    root.setAttribute("data-chart", "hit-rate");
    const max = Math.min(1, Math.ceil(Math.max(0.1, ...rows.map((r) => Math.max(r.hit_rate || 0, r.hit_rate_high || 0))) * 1.05 * 5) / 5);
    axisY(root, L, T, PH, PW, max, (v) => num(100 * v) + "\u00a0%");
    const x = (i) => L + (months.length === 1 ? PW / 2 : (PW * i) / (months.length - 1));
    const y = (v) => T + PH - (PH * v) / max;
    monthTicks(root, months, x, T + PH + 16);
    axisTitles(root, W, H, L, T, PH, "Closing month", "Hit rate (% with action, 95 % interval)");
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
        if (!p || missing(p.r.hit_rate_low)) return;
        // The interval as a whisker, nudged sideways per method so that overlapping whiskers stay apart.
        const dx = x(p.i) + 3 * (selections.indexOf(selection) - (selections.length - 1) / 2);
        const w = el("line", { class: "interval", "data-series": selection, x1: dx, x2: dx, y1: y(p.r.hit_rate_low),
          y2: y(p.r.hit_rate_high), stroke: COLOURS[selection] || "#555", "stroke-width": 1, "stroke-opacity": 0.6 }, root);
        el("title", {}, w, `${p.r.month} ${LABELS[selection] || selection}: 95 % interval ${pct(p.r.hit_rate_low)}–${pct(p.r.hit_rate_high)}`);
      });
      points.forEach((p) => {
        if (!p) return;
        const c = el("circle", { class: "point", "data-series": selection, cx: x(p.i), cy: y(p.r.hit_rate), r: 3,
          fill: COLOURS[selection] || "#555" }, root);
        el("title", {}, c, `${p.r.month} ${LABELS[selection] || selection}: ${pct(p.r.hit_rate)} of ${num(p.r.closed)}` +
          (missing(p.r.hit_rate_low) ? "" : ` (95 % interval ${pct(p.r.hit_rate_low)}–${pct(p.r.hit_rate_high)})`));
      });
    }
  }

  function intervalChart(container, items, name, band, xTitle, yTitle, labelWidth) {
    const usable = items.filter((it) => it.value !== null && it.value !== undefined);
    if (!usable.length) return empty(container, "Not enough model-selected and random-sample investigations for an estimate.");
    const W = 640, RH = 24, L = labelWidth || 170, T = 16, PW = W - L - 24;
    const H = T + RH * items.length + 46;
    const root = svg(container, W, H);
    root.setAttribute("data-chart", name);
    const values = items.flatMap((it) => [it.value, it.low, it.high]).filter((v) => v !== null && v !== undefined && v > 0);
    const lo = Math.min(0.5, ...values) / 1.1, hi = Math.max(2, ...values) * 1.1;
    const x = (v) => L + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * PW;
    if (band) el("rect", { x: x(band[0]), y: T - 4, width: x(band[1]) - x(band[0]), height: RH * items.length + 4, fill: "#e8f5e9" }, root);
    [0.25, 0.5, 0.8, 1, 1.25, 2, 4, 8].filter((t) => t >= lo && t <= hi).forEach((t) => {
      el("line", { x1: x(t), x2: x(t), y1: T - 4, y2: H - 40, stroke: t === 1 ? "#888" : "#ddd" }, root);
      el("text", { x: x(t), y: H - 26, "font-size": 10, "text-anchor": "middle" }, root, num(t, 2));
    });
    axisTitles(root, W, H, L, T, RH * items.length, xTitle, yTitle);
    items.forEach((it, i) => {
      const y = T + i * RH + RH / 2;
      el("text", { x: L - 8, y: y + 4, "font-size": 11, "text-anchor": "end" }, root, it.label);
      const flagged = band && it.value !== null && (it.value < band[0] || it.value > band[1]);
      const colour = flagged ? "#c62828" : "#1f5fa8";
      const keyed = it.key ? { "data-key": it.key } : {};
      if (it.low !== null && it.low !== undefined && it.high > 0) el("line", { class: "interval", ...keyed, x1: x(Math.max(it.low, lo)), x2: x(it.high), y1: y, y2: y, stroke: colour, "stroke-width": 2 }, root);
      if (it.suppressed) {
        el("text", { class: "suppressed", ...keyed, x: L + 4, y: y + 4, "font-size": 10, fill: "#888" }, root,
          "* suppressed: fewer than four persons");
      } else if (it.value > 0) {
        const c = el("circle", { class: "point", ...keyed, cx: x(it.value), cy: y, r: 5, fill: colour }, root);
        el("title", {}, c, `${it.label}: ${ratio(it.value)}` + (it.low ? ` (${ratio(it.low)}–${ratio(it.high)})` : ""));
      } else {
        el("text", { x: L + 4, y: y + 4, "font-size": 10, fill: "#888" }, root, "no estimate");
      }
    });
  }

  function detectedChart(container, rows) {
    const shown = rows.filter((r) => !r.suppressed);
    if (!shown.length) return empty(container, "No detected amounts to show.");
    const W = 640, H = 280, L = 70, T = 28, PW = W - L - 16, PH = H - T - 58;
    const root = svg(container, W, H);
    root.setAttribute("data-chart", "detected");
    const months = rows.map((r) => r.month);
    const max = niceMax(Math.max(1, ...shown.map((r) => Math.max(r.detected_sek, r.prevented_sek))) * 1.05);
    axisY(root, L, T, PH, PW, max, (v) => num(v / 1e6, 2));
    const slot = PW / months.length, bar = Math.max(1, slot * 0.4);
    const y = (v) => T + PH - (PH * v) / max;
    monthTicks(root, months, (i) => L + slot * i + slot / 2, T + PH + 16);
    axisTitles(root, W, H, L, T, PH, "Closing month", "Amount (MSEK, million kronor)");
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

  // PSI bars on one axis with the conventional thresholds (0.1 moderate, 0.25 shift).
  function psiChart(container, rows, name) {
    const W = 1000, RH = 20, L = 230, T = 18, PW = W - L - 80;
    const H = T + RH * rows.length + 46;
    const root = svg(container, W, H);
    root.setAttribute("data-chart", name);
    // The axis stops at 1: beyond that every PSI means "shifted", and the thresholds stay readable.
    const max = Math.min(1, Math.max(0.3, ...rows.map((r) => r.psi || 0)) * 1.1);
    const x = (v) => L + (PW * Math.min(v, max)) / max;
    [[0.1, `${num(0.1, 1)} moderate`, "end"], [0.25, `${num(0.25, 2)} shift`, "start"]].forEach(([t, label, anchor]) => {
      el("line", { x1: x(t), x2: x(t), y1: T - 6, y2: H - 40, stroke: t === 0.1 ? "#f9a825" : "#c62828", "stroke-dasharray": "4,3" }, root);
      el("text", { x: x(t) + (anchor === "end" ? -3 : 3), y: H - 26, "font-size": 10, "text-anchor": anchor }, root, label);
    });
    const colour = { stable: "#66bb6a", moderate: "#f9a825", shift: "#c62828", unknown: "#999" };
    rows.forEach((r, i) => {
      const y = T + i * RH;
      el("text", { x: L - 8, y: y + 13, "font-size": 11, "text-anchor": "end" }, root, r.feature);
      const b = el("rect", { class: "bar", x: L, y: y + 3, width: Math.max(1, x(r.psi || 0) - L), height: RH - 6, fill: colour[r.status] || "#999" }, root);
      el("title", {}, b, `${r.feature}: PSI ${fixed(r.psi, 3)} (${r.status})`);
      el("text", { x: x(r.psi || 0) + 4, y: y + 13, "font-size": 10 }, root, fixed(r.psi, 3) + (r.psi > max ? " →" : ""));
    });
    axisTitles(root, W, H, L, T, RH * rows.length, "PSI (population stability index, no unit; axis cut at 1)",
      name === "score-drift" ? "Score" : "Model input feature");
  }

  const PSI_COLUMNS = [
    { key: "psi", label: "PSI", format: (v) => fixed(v, 3), measure: true },
    { key: "status", label: "Reading (stable, moderate or shift)" },
    { key: "reference_rows", label: "Rows before", format: num },
    { key: "current_rows", label: "Rows now", format: num },
  ];

  function scoreDrift(drift) {
    const score = drift.score;
    const compared = $("compared-score-drift");
    if (!score) {
      compared.textContent = "";
      dataView("score-drift", [], []);
      return empty($("chart-score-drift"), "Score drift needs at least 20 scored random-sample investigations both before " +
        "and in the last three months of the period shown.");
    }
    compared.textContent = `Compared: the scores of ${num(score.reference_rows)} random-sample investigations closed ` +
      `${score.reference_period} with those of ${num(score.current_rows)} closed ${score.current_period}. ` +
      `PSI ${fixed(score.psi, 2)}: ${score.status}.`;
    psiChart($("chart-score-drift"), [score], "score-drift");
    dataView("score-drift", [{ key: "reference_period", label: "Before (closing months)" },
      { key: "current_period", label: "Now (closing months)" }, ...PSI_COLUMNS], [score]);
  }

  function featureDrift(drift) {
    const features = drift.features || [];
    const compared = $("compared-feature-drift");
    if (!features.length) {
      compared.textContent = "";
      dataView("feature-drift", [], []);
      return empty($("chart-feature-drift"), "No feature drift figures: " + (drift.note || "not available") + ".");
    }
    compared.textContent = `Compared: the model's input features in the feature snapshot of ${drift.reference_as_of} ` +
      `(the earliest, the features the model was built on) with the snapshot of ${drift.current_as_of} (the latest, what ` +
      `it scores now); the ${features.length} most moved features are shown.`;
    psiChart($("chart-feature-drift"), features, "feature-drift");
    dataView("feature-drift", [{ key: "feature", label: "Feature" }, { key: "kind", label: "Kind" }, ...PSI_COLUMNS], features);
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
    dataView("hit-rate", [
      { key: "month", label: "Closing month" },
      { value: (r) => LABELS[r.selection] || r.selection, raw: (r) => r.selection, label: "Selection method" },
      { key: "closed", label: "Closed investigations", format: num, measure: true },
      { key: "hit_rate", label: "Hit rate (share with action)", format: pct, measure: true },
      { key: "hit_rate_low", label: "95 % interval, low", format: pct, measure: true },
      { key: "hit_rate_high", label: "95 % interval, high", format: pct, measure: true },
      { value: status, label: "Status" },
    ], data.hit_rate_by_month);
    const quarters = [...data.lift_by_quarter, { period: "Whole period", ...data.lift }];
    const liftItems = quarters.map((q) => ({ label: q.period, value: q.lift, low: q.low, high: q.high }));
    intervalChart($("chart-lift"), liftItems, "lift", null, "Lift (model hit rate / random-sample hit rate; log scale, no unit)",
      "Quarter closed");
    dataView("lift", [
      { key: "period", label: "Period (quarter closed)" },
      { key: "model_closed", label: "Model-selected closed", format: num },
      { key: "model_hit_rate", label: "Model hit rate", format: pct },
      { key: "random_closed", label: "Random sample closed", format: num },
      { key: "random_hit_rate", label: "Random-sample hit rate", format: pct },
      { key: "lift", label: "Lift", format: ratio },
      { key: "low", label: "95 % interval, low", format: ratio },
      { key: "high", label: "95 % interval, high", format: ratio },
    ], quarters);
    detectedChart($("chart-detected"), data.detected_by_month);
    dataView("detected", [
      { key: "month", label: "Closing month" },
      { key: "closed", label: "Closed investigations", format: num, measure: true },
      { key: "detected_sek", label: "Detected (SEK)", format: num, measure: true },
      { key: "prevented_sek", label: "Prevented (SEK)", format: num, measure: true },
      { value: status, label: "Status" },
    ], data.detected_by_month);
    const fairness = [], fairnessRows = [];
    for (const r of data.fairness) {
      const sex = r.sex === "F" ? "Women" : "Men";
      fairness.push({ label: `${sex}: parity`, value: r.parity, low: r.parity_low, high: r.parity_high });
      fairnessRows.push({ ...r, sexLabel: sex, measureLabel: "parity", ratioValue: r.parity, lowValue: r.parity_low, highValue: r.parity_high });
      if (!r.reference) {
        fairness.push({ label: `${sex}: precision ratio`, value: r.precision_ratio, low: r.precision_ratio_low, high: r.precision_ratio_high });
        fairnessRows.push({ ...r, sexLabel: sex, measureLabel: "precision ratio", ratioValue: r.precision_ratio,
          lowValue: r.precision_ratio_low, highValue: r.precision_ratio_high });
      }
    }
    intervalChart($("chart-fairness"), fairness, "fairness", data.fairness_policy.band, "Ratio to men (log scale, no unit; 1 = equal)",
      "Sex and measure");
    dataView("fairness", [
      { key: "sexLabel", label: "Sex" },
      { key: "measureLabel", label: "Measure" },
      { key: "n_model", label: "Model-selected", format: num, measure: true },
      { key: "n_random", label: "Random sample", format: num, measure: true },
      { key: "ratioValue", label: "Ratio", format: ratio, measure: true },
      { key: "lowValue", label: "95 % interval, low", format: ratio, measure: true },
      { key: "highValue", label: "95 % interval, high", format: ratio, measure: true },
      { value: status, label: "Status" },
    ], fairnessRows);
    groupFairness(data);
    $("guide-drift").textContent = `PSI compares two distributions of the same quantity: below ${fixed(0.1, 1)} stable; ` +
      `${fixed(0.1, 1)} to ${fixed(0.25, 2)} a moderate change, worth watching; above ${fixed(0.25, 2)} a shift. A shift does ` +
      "not say the model is wrong, only that it now scores cases unlike those it was checked on.";
    scoreDrift(data.drift);
    featureDrift(data.drift);
    document.body.setAttribute("data-loaded-benefit", data.benefit || "");
  }

  const ATTRIBUTES = { sex: "Sex", born_abroad: "Born abroad", age_band: "Age band" };
  const METRICS = { selection_rate: "selection rate", fpr: "false-positive rate", precision: "precision" };
  function groupLabel(attribute, group) {
    if (attribute === "sex") return group === "F" ? "Women" : "Men";
    if (attribute === "born_abroad") return group === "True" ? "Born abroad" : "Born in Sweden";
    return `Aged ${group}`;
  }
  function groupFairness(data) {
    $("guide-group-fairness").textContent = data.group_fairness_note;
    const items = data.group_fairness.map((r) => ({
      key: `${r.attribute}-${r.group}-${r.metric}`, label: `${groupLabel(r.attribute, r.group)}: ${METRICS[r.metric]}`,
      value: r.ratio, low: r.low, high: r.high, suppressed: r.suppressed,
    }));
    intervalChart($("chart-group-fairness"), items, "group-fairness", data.fairness_policy.band,
      "Ratio to the reference group (log scale, no unit; 1 = equal)", "Group and ratio", 230);
    dataView("group-fairness", [
      { value: (r) => ATTRIBUTES[r.attribute], label: "Attribute" },
      { value: (r) => groupLabel(r.attribute, r.group), label: "Group" },
      { value: (r) => groupLabel(r.attribute, r.reference), label: "Reference" },
      { value: (r) => METRICS[r.metric], label: "Ratio of" },
      { key: "n_model", label: "Model-selected persons", format: num, measure: true },
      { key: "n_random", label: "Random-sample persons", format: num, measure: true },
      { key: "ratio", label: "Ratio", format: ratio, measure: true },
      { key: "low", label: "95 % interval, low", format: ratio, measure: true },
      { key: "high", label: "95 % interval, high", format: ratio, measure: true },
      { value: status, label: "Status" },
    ], data.group_fairness);
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
