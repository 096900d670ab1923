/* Client-side charts: every <canvas data-chart-url="..." data-chart-kind="bar|line|doughnut"> on the page is
 * filled from its JSON (finance_portal/charts.py data_payload) with Chart.js, loaded before this file.
 *
 * The one thing to know: amounts arrive as decimal strings and are turned into numbers only to place the
 * marks; every number a person reads (tooltips) is the string itself with its digits grouped, never a float
 * printed back. The canvas keeps its server-written aria-label, and the table in the <details> beside it
 * holds the same data for screen readers and browsers without JavaScript. No inline script or style (CSP):
 * colours come from the stylesheet's custom properties (charts.css, --chart-0 ... --chart-5).
 */
(function () {
  "use strict";

  var FALLBACK = ["#0b5cad", "#e8a33d", "#6c8ebf", "#2f8f5b", "#8e5ea2", "#7a7f87"];
  var SERIES_COLOURS = { high: "--chart-high", medium: "--chart-medium", low: "--chart-low",
                         overdue: "--chart-late", discount: "--chart-discount" };

  function colour(canvas, name, fallback) {
    var value = window.getComputedStyle(canvas).getPropertyValue(name).trim();
    return value || fallback;
  }

  function palette(canvas) {
    return FALLBACK.map(function (c, i) { return colour(canvas, "--chart-" + i, c); });
  }

  /* "1234567.5" -> "1,234,567.5", exactly as written (no float on the way). */
  function grouped(text) {
    var s = String(text);
    var sign = s.charAt(0) === "-" ? "\u2212" : "";
    if (sign) { s = s.slice(1); }
    var parts = s.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + parts.join(".");
  }

  function shown(value, unit) {
    return grouped(value) + (unit ? " " + unit : "");
  }

  function reduceMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function datasetsOf(canvas, data) {
    var colours = palette(canvas);
    var drawn = data.datasets.filter(function (d) { return d.draw; });
    return drawn.map(function (d, i) {
      var c = SERIES_COLOURS[d.key] ? colour(canvas, SERIES_COLOURS[d.key], colours[i % colours.length])
                                    : colours[i % colours.length];
      var out = {
        label: d.label,
        data: d.values.map(Number), /* for placing the marks only */
        exact: d.values,
        unit: d.value_type === "money" ? data.unit : "",
        backgroundColor: c,
        borderColor: c
      };
      if (data.kind === "doughnut") {
        out.backgroundColor = d.values.map(function (_, k) { return colours[k % colours.length]; });
        out.borderColor = colour(canvas, "--chart-surface", "#fff");
      }
      if (d.stack) { out.stack = d.stack; }
      if (d.kind && d.kind !== data.kind) { out.type = d.kind; }
      if (data.kind === "line") {
        out.backgroundColor = colour(canvas, "--chart-surface", "#fff");
        out.pointRadius = 4;
        out.borderWidth = 2.5;
        out.tension = 0;
      }
      return out;
    });
  }

  function config(canvas, data) {
    var horizontal = !!data.horizontal;
    var valueAxis = horizontal ? "x" : "y";
    var categoryAxis = horizontal ? "y" : "x";
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduceMotion() ? false : { duration: 300 },
      indexAxis: horizontal ? "y" : "x",
      plugins: {
        legend: { display: data.kind === "doughnut" || data.datasets.filter(function (d) { return d.draw; }).length > 1,
                  position: "bottom", labels: { boxWidth: 12 } },
        title: { display: false },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var ds = ctx.dataset;
              var name = data.kind === "doughnut" ? ctx.label : ds.label;
              return name + ": " + shown(ds.exact[ctx.dataIndex], ds.unit);
            }
          }
        }
      }
    };
    if (data.kind !== "doughnut") {
      var scales = {};
      scales[categoryAxis] = { stacked: !!data.stacked, ticks: { autoSkip: true, maxRotation: 0 } };
      scales[valueAxis] = { stacked: !!data.stacked, beginAtZero: data.value_type !== "score",
                            ticks: { precision: data.value_type === "money" ? undefined : 0 } };
      if (data.value_type === "score") {
        scales[valueAxis].suggestedMin = 300;
        scales[valueAxis].suggestedMax = 850;
      }
      options.scales = scales;
    }
    return { type: data.kind, data: { labels: data.labels, datasets: datasetsOf(canvas, data) }, options: options };
  }

  function status(canvas, text) {
    var figure = canvas.closest("figure");
    var note = figure && figure.querySelector("[data-chart-status]");
    if (note) {
      note.textContent = text;
      note.hidden = !text;
    }
  }

  function load(canvas) {
    var url = canvas.getAttribute("data-chart-url");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        if (data.empty) {
          status(canvas, data.empty);
          canvas.parentNode.hidden = true;
          return;
        }
        var kind = canvas.getAttribute("data-chart-kind");
        if (kind) { data.kind = kind; }
        new window.Chart(canvas, config(canvas, data));
        canvas.setAttribute("data-chart-drawn", "true");
      })
      .catch(function () {
        canvas.parentNode.hidden = true;
        status(canvas, canvas.closest("figure").getAttribute("data-chart-failed") || "The chart could not be loaded: the table below has its numbers.");
      });
  }

  function start() {
    var canvases = document.querySelectorAll("canvas[data-chart-url]");
    if (!canvases.length) { return; }
    if (!window.Chart) {
      canvases.forEach(function (c) { c.parentNode.hidden = true; });
      return;
    }
    canvases.forEach(load);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
