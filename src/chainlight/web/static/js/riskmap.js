// The port risk map of /risk: the ports of the page's JSON twin (/risk.json, its `map` list:
// ports with evidence and the riskiest others) as circles over the world-atlas outlines, drawn
// with d3-geo. A circle's size says the harbour size, its colour the residual band (low, medium,
// high, critical); hovering names the port, a click opens its profile. The page's table lists
// the same ports, so nothing here is needed to read them. No inline styles or scripts (the
// Content-Security-Policy forbids them): colours are CSS classes, sizes SVG attributes.
(function () {
  "use strict";

  var el = document.getElementById("risk-map");
  if (!el) { return; }
  if (!window.d3 || !window.topojson) {
    note(el, "The map picture needs d3 and topojson-client, which are not installed: run scripts/setup.");
    return;
  }
  var d3 = window.d3;
  var topojson = window.topojson;

  var WIDTH = 960;
  var HEIGHT = 480;
  var BANDS = ["low", "medium", "high", "critical"];
  var SIZES = { L: 6, M: 4.5, S: 3.5, V: 2.6, airport: 4.5 };
  var scale = 1;

  var svg = d3.select(el).append("svg")
    .attr("class", "map-svg")
    .attr("viewBox", "0 0 " + WIDTH + " " + HEIGHT)
    .attr("role", "img")
    .attr("aria-label", "World map of the ports listed below, coloured by residual risk");
  var projection = d3.geoNaturalEarth1().fitExtent([[4, 4], [WIDTH - 4, HEIGHT - 4]], { type: "Sphere" });
  var geoPath = d3.geoPath(projection);
  var layer = svg.append("g").attr("class", "map-layer");
  layer.append("path").datum({ type: "Sphere" }).attr("class", "sphere").attr("d", geoPath);
  layer.append("path").datum(d3.geoGraticule10()).attr("class", "graticule").attr("d", geoPath);
  var land = layer.append("g").attr("class", "land");
  var portLayer = layer.append("g").attr("class", "risk-ports");
  var tooltip = document.getElementById("risk-map-tooltip");
  var legend = document.getElementById("risk-map-legend");
  var errorBox = document.getElementById("risk-map-error");

  svg.call(d3.zoom().scaleExtent([1, 16]).translateExtent([[0, 0], [WIDTH, HEIGHT]])
    .on("zoom", function (event) {
      scale = event.transform.k;
      layer.attr("transform", event.transform);
      restyle();
    }));

  d3.json("/vendor/countries-110m.json").then(function (world) {
    var countries = topojson.feature(world, world.objects.countries);
    land.selectAll("path").data(countries.features).join("path").attr("class", "country").attr("d", geoPath);
    land.append("path")
      .datum(topojson.mesh(world, world.objects.countries, function (a, b) { return a !== b; }))
      .attr("class", "border").attr("d", geoPath);
    restyle();
  }).catch(function () {
    note(el, "The country outlines (world-atlas) could not be loaded: run scripts/setup.");
  });

  fetch(el.dataset.json, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    })
    .then(function (result) {
      if (!result.ok) {
        showError(result.body && result.body.error ? result.body.error : "The map could not be loaded.");
        return;
      }
      draw(result.body);
    })
    .catch(function () { showError("The map could not be loaded."); });

  function draw(data) {
    // The riskiest last, so they are drawn on top.
    var ports = data.map.slice().sort(function (a, b) { return b.rank - a.rank; });
    var purpose = data.purpose ? "?purpose=" + encodeURIComponent(data.purpose) : "";
    portLayer.selectAll("circle").data(ports, function (p) { return p.port_id; }).join("circle")
      .attr("class", function (p) {
        return "risk-point band-" + p.band + (p.evidence ? " with-evidence" : "");
      })
      .attr("data-port", function (p) { return p.port_id; })
      .attr("cx", function (p) { return projection([p.longitude, p.latitude])[0]; })
      .attr("cy", function (p) { return projection([p.longitude, p.latitude])[1]; })
      .on("mouseenter", function (event, p) { d3.select(this).raise(); show(event, lines(p)); })
      .on("mousemove", move)
      .on("mouseleave", hide)
      .on("click", function (event, p) { window.location.href = "/risk/ports/" + encodeURIComponent(p.port_id) + purpose; });
    restyle();
    drawLegend(ports);
  }

  function radius(p) { return SIZES[p.kind === "airport" ? "airport" : p.harbour_size] || 2.6; }

  // Circles keep their size on screen whatever the zoom.
  function restyle() {
    portLayer.selectAll("circle").attr("r", function (p) { return radius(p) / scale; })
      .attr("stroke-width", 0.7 / scale);
    land.selectAll("path").attr("stroke-width", 0.5 / scale);
  }

  function lines(p) {
    return [
      "#" + p.rank + " " + p.name + (p.code ? " (" + p.code + ")" : ""),
      "Residual risk " + p.residual.toFixed(1) + ", " + p.band,
      (p.kind === "airport" ? "Airport" : "Harbour size " + (p.harbour_size || "unknown")) +
        (p.evidence ? "" : "; reference facts only"),
      "TLP:" + p.marking,
    ];
  }

  function drawLegend(ports) {
    if (!legend) { return; }
    legend.textContent = "";
    var list = document.createElement("ul");
    list.className = "legend-items";
    var present = {};
    ports.forEach(function (p) { present[p.band] = (present[p.band] || 0) + 1; });
    BANDS.forEach(function (band) {
      if (!present[band]) { return; }
      var li = document.createElement("li");
      var dot = document.createElement("span");
      dot.className = "dot risk-dot band-" + band;
      li.appendChild(dot);
      li.appendChild(document.createTextNode(" " + band + " (" + present[band] + ")"));
      list.appendChild(li);
    });
    legend.appendChild(list);
  }

  function show(event, text) {
    if (!tooltip) { return; }
    tooltip.textContent = "";
    text.forEach(function (line, i) {
      var p = document.createElement(i === 0 ? "strong" : "span");
      p.textContent = line;
      tooltip.appendChild(p);
    });
    tooltip.hidden = false;
    move(event);
  }

  function move(event) {
    if (!tooltip || tooltip.hidden) { return; }
    var box = el.getBoundingClientRect();
    tooltip.style.left = (event.clientX - box.left + 14) + "px";
    tooltip.style.top = (event.clientY - box.top + 14) + "px";
  }

  function hide() { if (tooltip) { tooltip.hidden = true; } }

  function showError(message) {
    if (!errorBox) { return; }
    errorBox.hidden = !message;
    errorBox.textContent = message || "";
  }

  function note(target, text) {
    var p = document.createElement("p");
    p.className = "notice";
    p.textContent = text;
    target.appendChild(p);
  }
})();
