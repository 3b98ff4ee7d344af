// Draws every chart of the page from the figure JSON the server embedded beside it.
(function () {
  "use strict";
  function draw() {
    var nodes = document.querySelectorAll("[data-figure]");
    nodes.forEach(function (node) {
      var source = document.getElementById(node.getAttribute("data-figure"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      // On a phone the mode bar would cover the chart's title.
      var config = { responsive: true, displaylogo: false, displayModeBar: window.innerWidth >= 600 ? "hover" : false,
                     modeBarButtonsToRemove: ["select2d", "lasso2d"] };
      window.Plotly.newPlot(node, figure.data, figure.layout, config).then(function () {
        node.setAttribute("data-rendered", "true");
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
