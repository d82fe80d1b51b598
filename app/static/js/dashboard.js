/* The dashboard's charts (Chart.js, vendored in static/vendor/chartjs), each drawn from the table
   beside it: the row headers are the labels, the columns marked data-series the datasets, and
   each cell's data-value the number. No inline script, no eval: it runs under the app's CSP. */
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") { return; }
  var COLOURS = ["#c9302c", "#ec971f", "#31b0d5", "#7a869a", "#337ab7", "#5cb85c", "#8e44ad"];
  var PRIORITY = { Urgent: "#c9302c", High: "#ec971f", Medium: "#31b0d5", Low: "#7a869a" };

  function tableData(table) {
    var heads = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    var series = [];
    heads.forEach(function (th, index) {
      if (th.hasAttribute("data-series")) {
        series.push({ index: index, key: th.getAttribute("data-series"), label: th.textContent.trim() });
      }
    });
    var labels = [];
    var values = series.map(function () { return []; });
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      if (tr.classList.contains("dash-empty")) { return; }
      var cells = tr.children;
      // data-label: the chart's label when the cell says more ("Team|Measure": two lines)
      var label = cells[0].getAttribute("data-label");
      labels.push(label ? label.split("|") : cells[0].textContent.trim());
      series.forEach(function (s, n) {
        var text = cells[s.index] ? cells[s.index].getAttribute("data-value") : "";
        values[n].push(text === null || text === "" ? null : Number(text));
      });
    });
    return { labels: labels, series: series, values: values };
  }

  function draw(canvas) {
    var table = document.getElementById(canvas.getAttribute("data-table"));
    if (!table) { return; }
    var kind = canvas.getAttribute("data-chart");
    var data = tableData(table);
    if (!data.labels.length) { canvas.parentNode.classList.add("dash-chart-empty"); return; }
    var datasets = data.series.map(function (s, n) {
      var colour = PRIORITY[s.key] || COLOURS[(n + 4) % COLOURS.length];
      return {
        label: s.label, data: data.values[n], backgroundColor: colour, borderColor: colour,
        fill: false, tension: 0, pointRadius: 3
      };
    });
    var stacked = kind === "stacked";
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: datasets.length > 1, position: "bottom", labels: { boxWidth: 12 } } },
      scales: {
        x: { stacked: stacked, ticks: { autoSkip: true, maxRotation: 0, font: { size: 11 } } },
        y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } }
      }
    };
    if (kind === "percent") { options.scales.y.max = 100; }
    canvas.setAttribute("data-drawn", "1");
    new window.Chart(canvas, { type: kind === "line" ? "line" : "bar", data: { labels: data.labels, datasets: datasets }, options: options });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
}());
