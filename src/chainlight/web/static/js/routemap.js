// The route map: flows (trade, shipments, seizures) as arcs with arrowheads, legs through
// transit points, seizures and ports as circles, drawn with d3-geo over the world-atlas
// outlines. Data comes from the page's JSON twin (/map.json); the page's tables already list
// the same flows, so nothing here is needed to read them. No inline styles or scripts: the
// Content-Security-Policy forbids them; colours and sizes are SVG attributes or CSS classes.
// Data from RED and AMBER+STRICT datasets comes only with a purpose: the page's purpose form
// (#map-purpose) adds one to the filters, and every later fetch of /map.json passes it on.
(function () {
  "use strict";

  var el = document.getElementById("map");
  if (!el) { return; }
  var small = el.dataset.mode === "small";
  var form = document.getElementById("map-filters");

  if (!window.d3 || !window.topojson) {
    note(el, "The map picture needs d3 and topojson-client, which are not installed: run scripts/setup.");
    return;
  }
  var d3 = window.d3;
  var topojson = window.topojson;

  var KINDS = { trade: "CITES trade", shipments: "Shipments", seizures: "Seizure routes" };
  var WIDTH = 960;
  var HEIGHT = small ? 440 : 520;

  var svg = d3.select(el).append("svg")
    .attr("class", "map-svg")
    .attr("viewBox", "0 0 " + WIDTH + " " + HEIGHT)
    .attr("role", "img")
    .attr("aria-label", "World map of the flows listed below");
  var defs = svg.append("defs");
  Object.keys(KINDS).forEach(function (kind) {
    defs.append("marker")
      .attr("id", "arrow-" + kind)
      .attr("class", "arrow arrow-" + kind)
      .attr("viewBox", "0 0 10 10")
      .attr("refX", 8).attr("refY", 5)
      .attr("markerWidth", 2.6).attr("markerHeight", 2.6)
      .attr("orient", "auto-start-reverse")
      .append("path").attr("d", "M0,0 L10,5 L0,10 z");
  });

  var projection = d3.geoNaturalEarth1().fitExtent([[4, 4], [WIDTH - 4, HEIGHT - 4]], { type: "Sphere" });
  var geoPath = d3.geoPath(projection);
  var layer = svg.append("g").attr("class", "map-layer");
  layer.append("path").datum({ type: "Sphere" }).attr("class", "sphere").attr("d", geoPath);
  layer.append("path").datum(d3.geoGraticule10()).attr("class", "graticule").attr("d", geoPath);
  var land = layer.append("g").attr("class", "land");
  var flowLayer = layer.append("g").attr("class", "flows");
  var portLayer = layer.append("g").attr("class", "ports");
  var seizureLayer = layer.append("g").attr("class", "seizure-points");
  var scale = 1;
  var widthOf = function () { return 1; };

  var tooltip = document.getElementById("map-tooltip");
  var legend = document.getElementById("map-legend");
  var errorBox = document.getElementById("map-error");

  if (!small) {
    var zoom = d3.zoom().scaleExtent([1, 16])
      .translateExtent([[0, 0], [WIDTH, HEIGHT]])
      .on("zoom", function (event) {
        scale = event.transform.k;
        layer.attr("transform", event.transform);
        restyle();
      });
    svg.call(zoom);
  } else {
    svg.classed("map-link", true).on("click", function () { window.location.href = "/map"; });
  }

  d3.json("/vendor/countries-110m.json").then(function (world) {
    var countries = topojson.feature(world, world.objects.countries);
    land.selectAll("path").data(countries.features).join("path")
      .attr("class", "country").attr("d", geoPath);
    land.append("path")
      .datum(topojson.mesh(world, world.objects.countries, function (a, b) { return a !== b; }))
      .attr("class", "border").attr("d", geoPath);
  }).catch(function () {
    note(el, "The country outlines (world-atlas) could not be loaded: run scripts/setup.");
  });

  load(el.dataset.json);

  if (form && !small) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      refilter();
    });
    var purposeForm = document.getElementById("map-purpose");
    if (purposeForm) {
      purposeForm.addEventListener("submit", function (event) {
        var input = document.getElementById("map-purpose-input");
        var given = input ? input.value.replace(/\s+/g, " ").trim() : "";
        if (given.length < 4) { return; }  // the browser's own checks say why
        event.preventDefault();
        var kept = form.querySelector("input[name=purpose]");
        if (!kept) {
          kept = document.createElement("input");
          kept.type = "hidden";
          kept.name = "purpose";
          form.appendChild(kept);
        }
        kept.value = given;
        var said = document.getElementById("map-purpose-given");
        if (!said) {
          said = document.createElement("p");
          said.id = "map-purpose-given";
          said.className = "muted";
          document.getElementById("map-held").insertAdjacentElement("afterend", said);
        }
        said.textContent = "Shown with your purpose: \u201c" + given + "\u201d (kept in the access log).";
        refilter();
      });
    }
  }

  // Loads the map for the filters (and the purpose, if one was given) and keeps them in the address.
  function refilter() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value !== "") { params.append(key, value); }
    });
    var query = params.toString();
    window.history.replaceState(null, "", "/map" + (query ? "?" + query : ""));
    load("/map.json" + (query ? "?" + query : ""));
  }

  function load(url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) {
          showError(result.body && result.body.error ? result.body.error : "The map could not be loaded.");
          return;
        }
        showError(null);
        draw(result.body);
        if (!small) { renderTables(result.body); heldBack(result.body); }
      })
      .catch(function () { showError("The map could not be loaded."); });
  }

  function showError(message) {
    if (!errorBox) { return; }
    errorBox.hidden = !message;
    errorBox.textContent = message || "";
  }

  function draw(data) {
    var places = {};
    data.places.forEach(function (p) { places[p.id] = p; });
    var located = function (id) {
      var p = places[id];
      return p && p.latitude !== null && p.longitude !== null ? p : null;
    };
    var max = d3.max(data.flows, function (f) { return f.quantity; }) || 1;
    var width = d3.scaleSqrt().domain([0, max]).range([0.7, small ? 5 : 7]);
    widthOf = function (f) { return width(f.quantity); };

    // Largest last, so the thin flows stay visible on top of the thick ones' ends.
    var flows = data.flows.slice().reverse().map(function (flow) {
      var stops = flow.stops.map(located).filter(Boolean);
      var legs = [];
      for (var i = 1; i < stops.length; i += 1) {
        var a = projection([stops[i - 1].longitude, stops[i - 1].latitude]);
        var b = projection([stops[i].longitude, stops[i].latitude]);
        if (a && b && (a[0] !== b[0] || a[1] !== b[1])) { legs.push(arc(a, b)); }
      }
      return { flow: flow, legs: legs };
    }).filter(function (f) { return f.legs.length > 0; });

    var groups = flowLayer.selectAll("g.flow").data(flows, function (d) { return d.flow.id; })
      .join("g")
      .attr("class", function (d) { return "flow flow-" + d.flow.kind + " marking-" + markingClass(d.flow.marking); })
      .attr("data-flow", function (d) { return d.flow.id; });
    groups.selectAll("path").data(function (d) {
      return d.legs.map(function (leg) { return { leg: leg, flow: d.flow }; });
    }).join("path")
      .attr("d", function (d) { return d.leg; })
      .attr("marker-end", function (d) { return "url(#arrow-" + d.flow.kind + ")"; });
    groups
      .on("mouseenter", function (event, d) {
        d3.select(this).classed("active", true).raise();
        show(event, flowLines(d.flow, places, data));
      })
      .on("mousemove", move)
      .on("mouseleave", function () { d3.select(this).classed("active", false); hide(); });

    var ports = data.places.filter(function (p) { return p.kind === "port" && located(p.id); });
    portLayer.selectAll("circle").data(ports, function (p) { return p.id; }).join("circle")
      .attr("class", "port")
      .attr("cx", function (p) { return projection([p.longitude, p.latitude])[0]; })
      .attr("cy", function (p) { return projection([p.longitude, p.latitude])[1]; })
      .on("mouseenter", function (event, p) {
        show(event, [p.name + " (port" + (p.country ? ", " + p.country : "") + ")",
          p.shipments + " shipment records pass here", p.seizures + " seizures here"]);
      })
      .on("mousemove", move).on("mouseleave", hide);

    var points = data.seizures.filter(function (s) { return located(s.place); });
    var radius = d3.scaleSqrt().domain([0, d3.max(points, function (s) { return s.seizures; }) || 1])
      .range([2.5, small ? 8 : 11]);
    seizureLayer.selectAll("circle").data(points, function (s) { return s.place; }).join("circle")
      .attr("class", function (s) { return "seizure marking-" + markingClass(s.marking); })
      .attr("cx", function (s) { return projection([places[s.place].longitude, places[s.place].latitude])[0]; })
      .attr("cy", function (s) { return projection([places[s.place].longitude, places[s.place].latitude])[1]; })
      .each(function (s) { s.radius = radius(s.seizures); })
      .on("mouseenter", function (event, s) { show(event, seizureLines(s, places)); })
      .on("mousemove", move).on("mouseleave", hide);

    restyle();
    drawLegend(data, max);
  }

  // A leg as a gentle curve bowing to the left of its direction, so a flow and its return
  // do not overlap.
  function arc(a, b) {
    var dx = b[0] - a[0];
    var dy = b[1] - a[1];
    var bend = 0.18;
    var cx = (a[0] + b[0]) / 2 - dy * bend;
    var cy = (a[1] + b[1]) / 2 + dx * bend;
    return "M" + a[0] + "," + a[1] + " Q" + cx + "," + cy + " " + b[0] + "," + b[1];
  }

  // Line widths and circle sizes stay the same on screen whatever the zoom.
  function restyle() {
    flowLayer.selectAll("g.flow path").attr("stroke-width", function (d) { return widthOf(d.flow) / scale; });
    portLayer.selectAll("circle").attr("r", 2.2 / scale).attr("stroke-width", 0.6 / scale);
    seizureLayer.selectAll("circle").attr("r", function (s) { return s.radius / scale; })
      .attr("stroke-width", 0.8 / scale);
    land.selectAll("path").attr("stroke-width", 0.5 / scale);
  }

  function flowLines(flow, places, data) {
    var route = flow.stops.map(function (id) { return places[id] ? places[id].name : id; }).join(" → ");
    var years = flow.first_year ? (flow.first_year === flow.last_year ? flow.first_year
      : flow.first_year + "–" + flow.last_year) : "no dates";
    return [
      route,
      KINDS[flow.kind] + ": " + number(flow.quantity) + " " + unitWords(data) + ", " +
        flow.records + (flow.records === 1 ? " record" : " records") + ", " + years,
      flow.taxa.length ? flow.taxa.join(", ") : "taxon not stated",
      "Datasets: " + flow.datasets.join(", "),
      "TLP:" + flow.marking,
    ];
  }

  function seizureLines(s, places) {
    var years = s.first_year ? (s.first_year === s.last_year ? s.first_year : s.first_year + "–" + s.last_year) : "";
    return [
      (places[s.place] ? places[s.place].name : s.place) + ": " + s.seizures + (s.seizures === 1 ? " seizure" : " seizures"),
      number(s.specimens) + " specimens, " + number(s.weight) + " kg" + (years ? ", " + years : ""),
      s.taxa.join(", "),
      "Datasets: " + s.datasets.join(", "),
      "TLP:" + s.marking,
    ];
  }

  function show(event, lines) {
    if (!tooltip || small) { return; }
    tooltip.textContent = "";
    lines.forEach(function (line, i) {
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

  function drawLegend(data, max) {
    if (!legend) { return; }
    legend.textContent = "";
    var list = document.createElement("ul");
    list.className = "legend-items";
    var kinds = {};
    data.flows.forEach(function (f) { kinds[f.kind] = true; });
    Object.keys(KINDS).forEach(function (kind) {
      if (kinds[kind]) { list.appendChild(item("swatch swatch-" + kind, KINDS[kind])); }
    });
    if (data.flows.length) {
      list.appendChild(item("swatch swatch-width", "width: quantity, up to " + number(max) + " " + unitWords(data)));
    }
    if (data.seizures.length) { list.appendChild(item("dot dot-seizure", "seizures (size: how many)")); }
    if (data.places.some(function (p) { return p.kind === "port"; })) { list.appendChild(item("dot dot-port", "port")); }
    if (data.flows.some(function (f) { return f.marking === "RED"; })) {
      list.appendChild(item("swatch swatch-red", "dashed: resting on TLP:RED evidence"));
    }
    legend.appendChild(list);
    if (!small && data.total_flows > data.flows.length) {
      var more = document.createElement("p");
      more.textContent = "Showing the " + data.flows.length + " largest of " + data.total_flows + " flows.";
      legend.appendChild(more);
    }
  }

  function item(cls, text) {
    var li = document.createElement("li");
    var mark = document.createElement("span");
    mark.className = cls;
    mark.setAttribute("aria-hidden", "true");
    li.appendChild(mark);
    li.appendChild(document.createTextNode(" " + text));
    return li;
  }

  function renderTables(data) {
    var places = {};
    data.places.forEach(function (p) { places[p.id] = p; });
    var name = function (id) { return places[id] ? places[id].name : id; };
    var unit = data.unit_label.toLowerCase();
    var flows = document.querySelector("#flows-table tbody");
    var total = number(data.quantity) + " " + unitWords(data);
    var caption = document.querySelector("#flows-table caption");
    if (caption) { caption.textContent = "Largest flows, in " + unit; }
    if (flows) {
      flows.textContent = "";
      data.flows.forEach(function (f) {
        var row = flows.insertRow();
        row.dataset.flow = f.id;
        cell(row, "td", f.kind);
        cell(row, "th", f.stops.map(name).join(" → ")).scope = "row";
        cell(row, "td", number(f.quantity)).className = "num";
        cell(row, "td", String(f.records)).className = "num";
        cell(row, "td", years(f));
        cell(row, "td", f.taxa.join(", ") || "—");
        cell(row, "td", f.datasets.join(", "));
        row.appendChild(badgeCell(f.marking));
      });
      if (!data.flows.length) { emptyRow(flows, "No flow matches these filters in the datasets you may see."); }
    }
    var seizures = document.querySelector("#seizures-table tbody");
    if (seizures) {
      seizures.textContent = "";
      data.seizures.forEach(function (s) {
        var row = seizures.insertRow();
        cell(row, "th", name(s.place)).scope = "row";
        cell(row, "td", String(s.seizures)).className = "num";
        cell(row, "td", number(s.specimens)).className = "num";
        cell(row, "td", number(s.weight)).className = "num";
        cell(row, "td", years(s));
        cell(row, "td", s.taxa.join(", ") || "—");
        cell(row, "td", s.datasets.join(", "));
        row.appendChild(badgeCell(s.marking));
      });
      if (!data.seizures.length) { emptyRow(seizures, "No seizure matches these filters in the datasets you may see."); }
    }
    var summary = document.getElementById("map-summary");
    if (summary) {
      summary.textContent = data.total_flows + (data.total_flows === 1 ? " flow of " : " flows of ") +
        data.records + (data.records === 1 ? " record, " : " records, ") + total +
        (data.first_year ? ", " + data.first_year + "–" + data.last_year : "") + "; " + data.seizures.length +
        (data.seizures.length === 1 ? " seizure place." : " seizure places.");
      if (data.datasets.length) {
        summary.appendChild(document.createTextNode(" Handle as "));
        summary.appendChild(badge(data.marking));
        summary.appendChild(document.createTextNode("."));
      }
    }
  }

  // What a purpose would add: flows and seizures from RED or AMBER+STRICT datasets.
  function heldBack(data) {
    var box = document.getElementById("map-held");
    var text = document.getElementById("map-held-text");
    if (!box || !text) { return; }
    var flows = data.held_back || 0;
    var seizures = data.held_back_seizures || 0;
    box.hidden = !(flows || seizures);
    if (box.hidden) { text.textContent = ""; return; }
    text.textContent = flows.toLocaleString("en") + (flows === 1 ? " flow" : " flows") +
      (seizures ? " and " + seizures.toLocaleString("en") + (seizures === 1 ? " seizure" : " seizures") : "") +
      " from " + data.held_back_marking + " data " + (flows + seizures === 1 ? "is" : "are") +
      " held back: give a purpose to include them.";
  }

  // "12 specimens", "12 kilograms": the unit as it reads after a number.
  function unitWords(data) {
    return data.unit === null ? "specimens" : data.unit_label.toLowerCase();
  }

  function years(x) {
    if (!x.first_year) { return "—"; }
    return x.first_year === x.last_year ? String(x.first_year) : x.first_year + "–" + x.last_year;
  }

  function cell(row, tag, text) {
    var c = document.createElement(tag);
    c.textContent = text;
    row.appendChild(c);
    return c;
  }

  function emptyRow(body, text) {
    var row = body.insertRow();
    var c = cell(row, "td", text);
    c.colSpan = 8;
  }

  function badge(marking) {
    var span = document.createElement("span");
    span.className = "tlp tlp-" + markingClass(marking);
    span.textContent = "TLP:" + marking;
    return span;
  }

  function badgeCell(marking) {
    var td = document.createElement("td");
    td.appendChild(badge(marking));
    return td;
  }

  function markingClass(marking) { return marking.toLowerCase().replace("+", "-"); }

  function number(x) {
    return x.toLocaleString("en", { maximumFractionDigits: 2 });
  }

  function note(target, text) {
    var p = document.createElement("p");
    p.className = "notice";
    p.textContent = text;
    target.appendChild(p);
  }
})();
