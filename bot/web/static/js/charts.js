// Draws one line chart per theme, and one for the mood check-ins, with Chart.js (vendored).
// Readable without colour: every point is labelled with its value, points have a distinct
// shape, the y axis has the words of the scale, and a data table sits next to each chart.
(function () {
  "use strict";
  var source = document.getElementById("grafiek-data");
  if (!source || typeof Chart === "undefined") { return; }
  var charts = JSON.parse(source.textContent || "[]");
  var valueLabels = {
    id: "koersValueLabels",
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      var meta = chart.getDatasetMeta(0);
      var data = chart.data.datasets[0].data;
      if (data.length > 40) { return; }  // too crowded; the table has the numbers
      ctx.save();
      ctx.fillStyle = "#111";
      ctx.font = "bold 12px system-ui, sans-serif";
      ctx.textAlign = "center";
      meta.data.forEach(function (point, i) {
        ctx.fillText(String(data[i]), point.x, point.y - 9);
      });
      ctx.restore();
    }
  };
  charts.forEach(function (item) {
    var canvas = document.getElementById("grafiek-" + item.key);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: "line",
      data: {
        labels: item.points.map(function (p) { return p.label || p.x; }),
        datasets: [{
          label: item.label,
          data: item.points.map(function (p) { return p.y; }),
          borderColor: "#0b4f8a",
          backgroundColor: "#0b4f8a",
          pointStyle: "rectRot",
          pointRadius: item.points.length > 60 ? 0 : 5,
          borderWidth: 2,
          tension: 0
        }]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false }, tooltip: { enabled: true } },
        scales: {
          y: {
            min: 1, max: 5.4,
            ticks: {
              stepSize: 1, color: "#111",
              callback: function (v) {
                // The words of each chart's own scale: a theme scale is not bad-to-good.
                var words = { 1: "1 " + (item.low || ""), 2: "2", 3: "3", 4: "4", 5: "5 " + (item.high || "") };
                return words[v] || "";
              }
            },
            grid: { color: "#ccc" }
          },
          x: { ticks: { color: "#111", maxRotation: 0, autoSkip: true, maxTicksLimit: 6 } }
        }
      },
      plugins: [valueLabels]
    });
  });
})();
