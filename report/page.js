// Draws the lakefuse report from the JSON embedded in the page. Every text
// taken from the data is set with textContent, never as HTML.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("lakefuse-data").textContent);
  var PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#ec4899", "#84cc16", "#64748b", "#f97316", "#06b6d4"];
  var TYPE_COLORS = {SPAN: "#4f46e5", GENERATION: "#0ea5e9", EVENT: "#f59e0b", AGENT: "#8b5cf6", TOOL: "#10b981", CHAIN: "#14b8a6",
    RETRIEVER: "#ec4899", EVALUATOR: "#84cc16", EMBEDDING: "#06b6d4", GUARDRAIL: "#f97316"};
  var LEVEL_COLORS = {DEBUG: "#cbd5e1", DEFAULT: "#93c5fd", WARNING: "#f59e0b", ERROR: "#dc2626"};

  Chart.defaults.animation = false;
  Chart.defaults.responsiveAnimationDuration = 0;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 11.5;
  Chart.defaults.color = "#475467";
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  Chart.defaults.plugins.legend.labels.boxHeight = 12;
  Chart.defaults.maintainAspectRatio = false;

  var nf = new Intl.NumberFormat("en-US");
  function num(v) { return nf.format(v); }
  function trim(s) { return s.replace(/\.0$/, ""); }
  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return trim((v / 1e9).toFixed(a >= 1e10 ? 0 : 1)) + "B";
    if (a >= 1e6) return trim((v / 1e6).toFixed(a >= 1e7 ? 0 : 1)) + "M";
    if (a >= 1e4) return trim((v / 1e3).toFixed(a >= 1e5 ? 0 : 1)) + "k";
    return nf.format(v);
  }
  function usd(v) {
    if (v === 0) return "$0";
    if (Math.abs(v) < 0.01) return "$" + v.toPrecision(2);
    return "$" + v.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }
  function ms(v) {
    if (v == null) return "–";
    if (v >= 1000) return trim((v / 1000).toFixed(v >= 10000 ? 1 : 2)).replace(/(\.\d)0$/, "$1") + " s";
    return trim(v.toFixed(v >= 100 ? 0 : 1)) + " ms";
  }
  function bytes(v) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v : v.toFixed(1)) + " " + u[i];
  }
  function sum(a) { var s = 0; for (var i = 0; i < a.length; i++) s += a[i]; return s; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = String(text);
    return e;
  }
  function row(tbody, cells) {
    var tr = el("tr");
    cells.forEach(function (c) {
      var td = el("td", c.cls ? {"class": c.cls} : null, c.text);
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
    return tr;
  }
  function day(t) { return t ? String(t).slice(0, 10) : ""; }
  function window_(w) {
    if (!w || (!w.from && !w.to)) return "everything";
    return (w.from ? day(w.from) : "…") + " → " + (w.to ? day(w.to) : "…");
  }

  // Header and headline figures.
  var T = D.totals;
  var days = D.days;
  document.getElementById("subtitle").textContent =
    (days.length ? days[0] + " to " + days[days.length - 1] + " · " + days.length + " days · " : "") +
    "generated " + String(D.generated).slice(0, 16).replace("T", " ") + " UTC";
  var kpis = [
    ["traces", compact(T.traces)], ["observations", compact(T.observations)], ["generations", compact(T.generations)],
    ["cost", usd(T.cost_usd)], ["input tokens", compact(T.tokens_in)], ["output tokens", compact(T.tokens_out)],
    ["errors", T.observations ? (100 * T.errors / T.observations).toFixed(1) + "%" : "–"], ["scores", compact(T.scores)]
  ];
  var kp = document.getElementById("kpis");
  kpis.forEach(function (k) {
    var d = el("div", {"class": "kpi", "data-kpi": k[0]});
    d.appendChild(el("div", {"class": "v"}, k[1]));
    d.appendChild(el("div", {"class": "l"}, k[0]));
    kp.appendChild(d);
  });

  // The lake at a glance.
  var G = D.glance;
  var facts = document.getElementById("glance-facts");
  function fact(k, v) { facts.appendChild(el("dt", null, k)); facts.appendChild(el("dd", null, v)); }
  (G.sources || []).forEach(function (s) {
    var what = s.kind || "unknown";
    if (s.project_name || s.project_id) what += ": project " + (s.project_name || "") + (s.project_id ? " (" + s.project_id + ")" : "");
    if (s.url) what += " at " + s.url;
    if (s.server_version) what += ", Langfuse " + s.server_version;
    fact("source", what);
  });
  fact("runs", G.runs.length + " committed");
  if (G.data_from || G.data_to) fact("data", day(G.data_from) + " → " + day(G.data_to));
  fact("schema version", G.schema_version + (G.schema_version < G.reader_schema_version ? " (this lakefuse reads up to " + G.reader_schema_version + ")" : ""));
  var runs = document.querySelector("#runs tbody");
  var notes = document.getElementById("notes");
  G.runs.forEach(function (r) {
    row(runs, [{text: r.run_id}, {text: r.kind}, {text: r.source.kind + (r.source.project_name ? " " + r.source.project_name : "")},
      {text: window_(r.window)}, {text: num(r.rows), cls: "num"}]);
    var keys = Object.keys(r.notes || {}).sort();
    if (keys.length) {
      var p = el("div", {"class": "notes"});
      p.appendChild(el("span", null, "Recorded by run " + r.run_id + ": "));
      keys.forEach(function (k, i) {
        p.appendChild(el("code", null, k + " = " + r.notes[k]));
        if (i < keys.length - 1) p.appendChild(document.createTextNode(" "));
      });
      notes.appendChild(p);
    }
  });
  if (!notes.childNodes.length) notes.appendChild(el("div", {"class": "notes"}, "No filters or redaction recorded in the manifests."));
  var tb = document.querySelector("#tables tbody");
  G.tables.forEach(function (t) {
    row(tb, [{text: t.name}, {text: num(t.rows), cls: "num"}, {text: num(t.files), cls: "num"}, {text: bytes(t.bytes), cls: "num"}]);
  });
  row(document.querySelector("#tables tfoot"), [{text: "all"}, {text: num(G.totals.rows), cls: "num"},
    {text: num(G.totals.files), cls: "num"}, {text: bytes(G.totals.bytes), cls: "num"}]);

  // Comparison with a live project.
  var C = D.comparison;
  if (C) {
    document.getElementById("comparison").hidden = false;
    var imp = !C.against;
    document.getElementById("comparison-title").textContent = imp ? "Import into the destination" :
      "The lake against the " + C.against + " project";
    var sub = document.getElementById("comparison-sub");
    sub.appendChild(el("span", {"class": "badge " + (C.ok ? "ok" : "bad")}, C.ok ? "match" : "differences"));
    sub.appendChild(document.createTextNode(" lakefuse " + C.command + (C.project ? " · project " + (C.project.name || "") +
      (C.project.id ? " (" + C.project.id + ")" : "") : "") + " · " + String(C.finished).slice(0, 16).replace("T", " ") + " UTC" +
      (C.error ? " · " + C.error : "")));
    var cols = imp ? ["table", "lake rows", "sent", "already imported", "skipped", "failed"] :
      ["table", "lake rows", "live rows", "missing", "extra", "differing"];
    var hr = el("tr");
    cols.forEach(function (c, i) { hr.appendChild(el("th", i ? {"class": "num"} : null, c)); });
    document.querySelector("#comparison-table thead").appendChild(hr);
    var cb = document.querySelector("#comparison-table tbody");
    var lakeRows = 0, problems = 0;
    C.tables.forEach(function (t) {
      lakeRows += t.lake_rows;
      problems += imp ? t.failed : t.missing + t.extra + t.differing;
    });
    document.getElementById("comparison-summary").textContent = C.tables.length + " tables, " + num(lakeRows) + " rows in the lake: " +
      (problems ? num(problems) + (problems === 1 ? " row" : " rows") + (imp ? " failed" : " missing, extra or differing") :
        imp ? "nothing failed" : "no differences");
    document.getElementById("comparison-details").open = !C.ok || problems > 0;
    C.tables.forEach(function (t) {
      var v = imp ? [t.lake_rows, t.sent, t.already, t.skipped, t.failed] : [t.lake_rows, t.live_rows, t.missing, t.extra, t.differing];
      var cells = [{text: t.table}];
      v.forEach(function (x, i) {
        var bad = imp ? i === 4 && x > 0 : i >= 2 && x > 0;
        cells.push({text: num(x), cls: "num" + (bad ? " bad" : "")});
      });
      row(cb, cells);
    });
  }

  // Charts.
  function color(name, i, map) { return (map && map[name]) || PALETTE[i % PALETTE.length]; }
  function draw(id, cfg) {
    var c = document.getElementById(id);
    return new Chart(c, cfg);
  }
  var stackedX = {stacked: true, grid: {display: false}};
  var tip = {mode: "index", intersect: false};

  var volume = (D.observations_by_type || []).map(function (s, i) {
    return {type: "bar", label: s.name, data: s.values, backgroundColor: color(s.name, i, TYPE_COLORS), stack: "obs", order: 2};
  });
  volume.push({type: "line", label: "traces", data: D.traces, borderColor: "#111827", backgroundColor: "#111827",
    pointRadius: 2.5, borderWidth: 2, yAxisID: "y2", order: 1});
  draw("chart-volume", {type: "bar", data: {labels: days, datasets: volume},
    options: {interaction: tip, plugins: {tooltip: tip}, scales: {x: stackedX,
      y: {stacked: true, title: {display: true, text: "observations"}, ticks: {callback: compact}},
      y2: {position: "right", beginAtZero: true, grid: {display: false}, title: {display: true, text: "traces"}, ticks: {callback: compact}}}}});

  draw("chart-cost", {type: "bar", data: {labels: days, datasets: (D.cost_by_model || []).map(function (s, i) {
    return {label: s.name, data: s.values, backgroundColor: color(s.name, i)};
  })}, options: {interaction: tip, plugins: {tooltip: {mode: "index", intersect: false, callbacks: {
    label: function (c) { return c.dataset.label + ": " + usd(c.parsed.y); }}}},
    scales: {x: stackedX, y: {stacked: true, ticks: {callback: function (v) { return usd(v); }}}}}});

  draw("chart-tokens", {type: "bar", data: {labels: days, datasets: [
    {label: "input", data: D.tokens_in, backgroundColor: "#6366f1"},
    {label: "output", data: D.tokens_out, backgroundColor: "#22d3ee"}]},
    options: {interaction: tip, plugins: {tooltip: tip}, scales: {x: stackedX, y: {stacked: true, ticks: {callback: compact}}}}});

  var L = D.latency_ms;
  draw("chart-latency", {type: "line", data: {labels: days, datasets: [
    {label: "p50", data: L.p50, borderColor: "#10b981", backgroundColor: "#10b981"},
    {label: "p90", data: L.p90, borderColor: "#f59e0b", backgroundColor: "#f59e0b"},
    {label: "p99", data: L.p99, borderColor: "#ef4444", backgroundColor: "#ef4444"}]},
    options: {spanGaps: true, elements: {point: {radius: 2.5}, line: {borderWidth: 2}}, interaction: tip,
      plugins: {tooltip: {mode: "index", intersect: false, callbacks: {label: function (c) { return c.dataset.label + ": " + ms(c.parsed.y); }}}},
      scales: {x: {grid: {display: false}}, y: {beginAtZero: true, ticks: {callback: function (v) { return ms(v); }}}}}});
  document.getElementById("latency-note").textContent = "end_time − start_time of " + num(sum(L.count)) +
    " generations; each percentile within " + (L.relative_accuracy * 100) + "% of the exact value.";

  var perDay = days.map(function (_, i) { return sum((D.levels || []).map(function (s) { return s.values[i]; })); });
  draw("chart-levels", {type: "bar", data: {labels: days, datasets: (D.levels || []).map(function (s, i) {
    return {label: s.name, data: s.values.map(function (v, j) { return perDay[j] ? 100 * v / perDay[j] : 0; }),
      backgroundColor: color(s.name, i, LEVEL_COLORS)};
  })}, options: {interaction: tip, plugins: {tooltip: {mode: "index", intersect: false, callbacks: {
    label: function (c) { return c.dataset.label + ": " + c.parsed.y.toFixed(2) + "%"; }}}},
    scales: {x: stackedX, y: {stacked: true, min: 0, max: 100, ticks: {callback: function (v) { return v + "%"; }}}}}});

  var top = D.top_trace_names || [];
  draw("chart-trace-names", {type: "bar", data: {labels: top.map(function (t) { return t.name; }),
    datasets: [{label: "traces", data: top.map(function (t) { return t.count; }), backgroundColor: "#4f46e5", borderRadius: 3}]},
    options: {indexAxis: "y", plugins: {legend: {display: false}}, scales: {x: {ticks: {callback: compact}}, y: {grid: {display: false}}}}});
  document.getElementById("trace-names-note").textContent = D.trace_names_approximate ?
    "More names than the report tracks exactly: counts may overestimate by the amount shown in the tooltip." :
    "Exact counts, " + num(T.traces) + " traces.";

  // Scores: one small chart per name.
  var scores = document.getElementById("scores");
  var S = D.score_names || [];
  document.getElementById("scores-sub").textContent = num(T.scores) + " scores, " + S.length + " names" +
    (D.scores_other ? " (" + num(D.scores_other) + " scores of further names not shown)" : "");
  S.forEach(function (s, i) {
    var box = el("div", {"class": "score"});
    box.appendChild(el("h4", null, s.name));
    var meta = s.data_type + " · " + num(s.count) + " scores";
    if (s.numeric) meta += " · mean " + s.numeric.mean.toPrecision(3) + " · range " + s.numeric.min + " to " + s.numeric.max;
    box.appendChild(el("div", {"class": "meta"}, meta));
    var wrap = el("div", {"class": "chart"});
    var canvas = el("canvas", {id: "chart-score-" + i, "data-score": s.name});
    wrap.appendChild(canvas);
    box.appendChild(wrap);
    scores.appendChild(box);
    var labels, data, title;
    if (s.numeric) {
      labels = s.numeric.bins.map(function (b) { return +b.lo.toPrecision(4) + "–" + +b.hi.toPrecision(4); });
      data = s.numeric.bins.map(function (b) { return b.count; });
      title = "value";
    } else if (s.categories) {
      labels = s.categories.map(function (c) { return c.name; });
      data = s.categories.map(function (c) { return c.count; });
      title = "value";
    } else {
      labels = days;
      data = s.per_day;
      title = "scores per day";
    }
    new Chart(canvas, {type: "bar", data: {labels: labels, datasets: [{label: s.name, data: data,
      backgroundColor: PALETTE[(i + 1) % PALETTE.length], borderRadius: 2, barPercentage: s.numeric ? 1 : 0.8, categoryPercentage: s.numeric ? 1 : 0.8}]},
      options: {plugins: {legend: {display: false}}, scales: {x: {grid: {display: false}, title: {display: true, text: title}},
        y: {beginAtZero: true, ticks: {callback: compact, precision: 0}}}}});
  });
  if (!S.length) scores.appendChild(el("div", {"class": "notes"}, "The lake holds no scores."));
  document.body.setAttribute("data-ready", "1");
})();
