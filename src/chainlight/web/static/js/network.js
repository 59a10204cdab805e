// The network explorer: a Cytoscape.js canvas over the graph API. Everything drawn comes from
// /api/graph/neighbours/{id} and /api/graph/path, which answer in the viewer's graph view
// (edges only where the viewer may see all their evidence). Nodes are coloured by schema,
// edges styled by the family of their relation; a side panel shows a node's or an edge's
// datasets and marking. No inline scripts or styles (the Content-Security-Policy forbids them).
// An answer marked RED or AMBER+STRICT comes only with a purpose: when the API answers 428 the
// page shows its purpose form, and the purpose given there (or with ?purpose= in the page's
// address) goes with every later call, in the X-Chainlight-Purpose header.
(function () {
  "use strict";

  var container = document.getElementById("network");
  if (!container) { return; }
  var status = document.getElementById("network-status");
  var details = document.getElementById("network-details");
  var pathForm = document.getElementById("network-path-form");
  var pathResult = document.getElementById("network-path-result");
  var search = document.getElementById("network-search");
  var suggestions = document.getElementById("network-suggestions");

  if (search && suggestions) { suggest(search, suggestions); }
  if (!window.cytoscape) {
    say("The explorer needs Cytoscape.js, which is not installed: run scripts/setup.");
    return;
  }

  // Colours by schema: people warm, bodies cool, goods and movements earthy, places grey.
  var SCHEMA_COLOURS = {
    Person: "#c2410c", Company: "#1d4ed8", Organization: "#4338ca", PublicBody: "#0f766e",
    LegalEntity: "#475569", Vessel: "#0369a1", Airplane: "#0e7490", Shipment: "#b45309",
    Permit: "#15803d", Seizure: "#b91c1c", GeneticSample: "#9f1239", Port: "#6b7280",
    BankAccount: "#047857", Address: "#78716c", Note: "#a16207", Incident: "#be123c",
  };
  var OTHER_SCHEMA = "#94a3b8";
  // Edge families: how a relation is drawn.
  var FAMILIES = [
    { name: "ownership", label: "ownership and control", test: /^(Ownership|Control)$/ },
    { name: "role", label: "directors, employees, members, agents",
      test: /^(Directorship|Employment|Membership|Representation)$/ },
    { name: "personal", label: "family and associates", test: /^(Family|Associate)$/ },
    { name: "money", label: "payments and accounts", test: /^(Payment|BankAccount:.*|.*:account)$/ },
    { name: "dna", label: "DNA matches and samples", test: /^(GeneticMatch|GeneticSample:.*)$/ },
    { name: "goods", label: "shipments, permits, seizures", test: /^(Shipment|Permit|PermitEndorsement|Seizure|Incident)(:.*)?$/ },
    { name: "shared", label: "shared address, phone or e-mail", test: /^shares:/ },
  ];

  var config = null;
  var expanded = {};
  var purpose = container.dataset.purpose || "";
  var purposeForm = document.getElementById("network-purpose");
  var asking = null;  // the promise of a purpose being asked for, shared by every waiting call

  // Cytoscape adds a <style> element to the page unless one with this id exists; the
  // Content-Security-Policy blocks inline styles, and app.css already positions the container.
  if (!document.getElementById("__________cytoscape_stylesheet")) {
    var marker = document.createElement("meta");
    marker.id = "__________cytoscape_stylesheet";
    document.head.appendChild(marker);
  }

  var cy = window.cytoscape({
    container: container,
    minZoom: 0.1,
    maxZoom: 4,
    style: styles(),
  });

  cy.on("tap", "node", function (event) { showNode(event.target); });
  cy.on("tap", "edge", function (event) { showEdge(event.target); });
  cy.on("dbltap", "node", function (event) { expand(event.target.id()); });

  // Settled once the explorer's own data has come (or failed): a path asked for before then waits.
  var ready = fetchJson(container.dataset.json).then(function (body) {
    config = body;
    if (!body.built) { return; }
    relationControls();
    if (body.entity) {
      addNodes([Object.assign({ distance: 0 }, body.entity)], null);
      expand(body.entity.id);
    }
  }).catch(function (error) { say(error.message); });

  if (pathForm) {
    pathForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var source = document.getElementById("path-source").value.trim();
      var target = document.getElementById("path-target").value.trim();
      if (source && target) {
        ready.then(function () { if (config) { showPath(source, target); } });
      }
    });
  }

  // -- loading -------------------------------------------------------------------------------

  function fetchJson(url) {
    var headers = { Accept: "application/json" };
    var address = url;
    if (purpose) {
      // A header carries Latin-1 only: a purpose in other scripts goes in the address instead.
      if (/^[\x20-\x7e\xa0-\xff]*$/.test(purpose)) {
        headers["X-Chainlight-Purpose"] = purpose;
      } else {
        address += (url.indexOf("?") < 0 ? "?" : "&") + "purpose=" + encodeURIComponent(purpose);
      }
    }
    return fetch(address, { headers: headers, credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          var message = body && body.error ? body.error : "The request failed (" + response.status + ").";
          if (response.status === 428 && purposeForm) {
            return askPurpose(message).then(function () { return fetchJson(url); });
          }
          if (!response.ok) { throw new Error(message); }
          return body;
        });
      });
  }

  // Shows the purpose form with the server's words and resolves once a purpose is given.
  function askPurpose(message) {
    if (!asking) {
      asking = new Promise(function (resolve) {
        var why = document.getElementById("network-purpose-why");
        var input = document.getElementById("network-purpose-input");
        if (why) { why.textContent = message; }
        purposeForm.hidden = false;
        if (input) { input.focus(); }
        say("Some of this is marked RED or AMBER+STRICT: give a purpose to see it.");
        var done = function (event) {
          event.preventDefault();
          var given = input ? input.value.replace(/\s+/g, " ").trim() : "";
          if (given.length < 4) { if (why) { why.textContent = "A purpose is 4 to 500 characters long."; } return; }
          purpose = given;
          purposeForm.hidden = true;
          purposeForm.removeEventListener("submit", done);
          asking = null;
          resolve();
        };
        purposeForm.addEventListener("submit", done);
      });
    }
    return asking;
  }

  function relationParams() {
    var boxes = relationBoxes();
    var checked = boxes.filter(function (b) { return b.checked; });
    if (checked.length === boxes.length) { return ""; }
    return checked.map(function (b) { return "&relation=" + encodeURIComponent(b.value); }).join("");
  }

  function expand(id) {
    if (!config) { return; }
    if (relationBoxes().length && !relationBoxes().some(function (b) { return b.checked; })) {
      say("Tick at least one relation to expand along.");
      return;
    }
    var url = config.neighbours_url.replace("{id}", encodeURIComponent(id)) + "?hops=1" + relationParams();
    say("Loading the neighbours of " + label(id) + "…");
    fetchJson(url).then(function (body) {
      expanded[body.entity] = true;
      var origin = cy.getElementById(body.entity);
      var added = addNodes(body.nodes, origin.nonempty() ? origin.position() : null);
      addEdges(body.edges);
      var node = cy.getElementById(body.entity);
      if (node.nonempty()) { node.addClass("expanded"); }
      body.hubs.forEach(function (hub) { cy.getElementById(hub).addClass("hub"); });
      layout(added);
      var count = body.nodes.length - 1;
      var message = count > 0 ? count + (count === 1 ? " neighbour of " : " neighbours of ") + label(body.entity) + "."
        : label(id) + " has no relation you may see.";
      if (body.truncated) { message += " The neighbourhood was cut at the node limit."; }
      if (body.hubs.length) { message += " Hubs (too many edges to expand): " + body.hubs.map(label).join(", ") + "."; }
      say(message);
      applyFilter();
      legend();
    }).catch(function (error) { say(error.message); });
  }

  function showPath(source, target) {
    var url = config.path_url + "?source=" + encodeURIComponent(source) + "&target=" + encodeURIComponent(target) +
      "&paths=1" + relationParams();
    pathSay("Looking for a path…");
    fetchJson(url).then(function (body) {
      cy.elements().removeClass("on-path");
      if (!body.paths.length) {
        pathSay("Nothing you may see joins these two entities.");
        return;
      }
      var added = addNodes(body.nodes, null);
      var path = body.paths[0];
      addEdges(path.steps);
      layout(added);
      path.steps.forEach(function (step) { cy.getElementById(edgeId(step)).addClass("on-path"); });
      [body.source, body.target].concat(path.steps.map(function (s) { return s.source; }))
        .forEach(function (id) { cy.getElementById(id).addClass("on-path"); });
      pathSay(path.length + (path.length === 1 ? " step" : " steps") + " from " + label(body.source) + " to " +
        label(body.target) + "; handle as TLP:" + path.marking + " (" + path.datasets.join(", ") + ").");
      applyFilter();
      legend();
      cy.fit(cy.elements(".on-path"), 60);
    }).catch(function (error) { pathSay(error.message); });
  }

  // -- the graph -----------------------------------------------------------------------------

  function addNodes(nodes, near) {
    var added = [];
    nodes.forEach(function (node) {
      var existing = cy.getElementById(node.id);
      if (existing.nonempty()) { return; }
      var position = near ? { x: near.x + (Math.random() - 0.5) * 120, y: near.y + (Math.random() - 0.5) * 120 }
        : { x: Math.random() * 400, y: Math.random() * 300 };
      added.push(cy.add({
        group: "nodes",
        data: {
          id: node.id, label: node.caption || node.id, schema: node.schema, country: node.country || null,
          datasets: node.datasets || [], marking: node.marking || "CLEAR", entity_ids: node.entity_ids || [node.id],
          colour: SCHEMA_COLOURS[node.schema] || OTHER_SCHEMA,
        },
        position: position,
      }));
    });
    var hint = document.getElementById("network-hint");
    if (hint && cy.nodes().length) { hint.hidden = true; }
    return added;
  }

  function edgeId(edge) {
    return [edge.source, edge.relation, edge.target, edge.evidence && edge.evidence.entity_id].join("|");
  }

  function addEdges(edges) {
    edges.forEach(function (edge) {
      var id = edgeId(edge);
      if (cy.getElementById(id).nonempty()) { return; }
      if (cy.getElementById(edge.source).empty() || cy.getElementById(edge.target).empty()) { return; }
      cy.add({
        group: "edges",
        data: {
          id: id, source: edge.source, target: edge.target, relation: edge.relation, label: edge.label,
          family: family(edge.relation), datasets: edge.datasets, marking: edge.marking, evidence: edge.evidence,
          start: edge.start || null, end: edge.end || null, amount: edge.amount, currency: edge.currency || null,
          share: edge.share || null, qualifier: edge.qualifier || null,
        },
        classes: edge.marking === "RED" ? "red" : "",
      });
    });
  }

  function layout(added) {
    var all = cy.elements();
    if (!all.length) { return; }
    all.layout({
      name: "cose", animate: false, randomize: false, fit: true, padding: 30,
      nodeDimensionsIncludeLabels: true, idealEdgeLength: function () { return 90; },
      nodeRepulsion: function () { return 9000; },
    }).run();
    if (added.length === cy.nodes().length) { cy.fit(undefined, 30); }
  }

  function family(relation) {
    for (var i = 0; i < FAMILIES.length; i += 1) {
      if (FAMILIES[i].test.test(relation)) { return FAMILIES[i].name; }
    }
    return "other";
  }

  function label(id) {
    var node = cy.getElementById(id);
    return node.nonempty() ? node.data("label") : id;
  }

  // -- relation filter -----------------------------------------------------------------------

  function relationBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#network-relations input[name=relation]"));
  }

  function relationControls() {
    relationBoxes().forEach(function (box) { box.addEventListener("change", applyFilter); });
    var all = document.getElementById("relations-all");
    var none = document.getElementById("relations-none");
    if (all) { all.addEventListener("click", function () { setAll(true); }); }
    if (none) { none.addEventListener("click", function () { setAll(false); }); }
  }

  function setAll(on) {
    relationBoxes().forEach(function (box) { box.checked = on; });
    applyFilter();
  }

  function applyFilter() {
    var shown = {};
    relationBoxes().forEach(function (box) { shown[box.value] = box.checked; });
    cy.batch(function () {
      cy.edges().forEach(function (edge) {
        var on = shown[edge.data("relation")] !== false;
        edge.toggleClass("off", !on);
      });
    });
  }

  // -- side panel ----------------------------------------------------------------------------

  function panel(title, rows, actions) {
    if (!details) { return; }
    details.textContent = "";
    var h = document.createElement("h2");
    h.textContent = title;
    details.appendChild(h);
    var dl = document.createElement("dl");
    dl.className = "facts";
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined || row[1] === "") { return; }
      var dt = document.createElement("dt");
      dt.textContent = row[0];
      var dd = document.createElement("dd");
      if (row[1] instanceof Node) { dd.appendChild(row[1]); } else { dd.textContent = String(row[1]); }
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    details.appendChild(dl);
    if (actions.length) {
      var p = document.createElement("p");
      p.className = "actions";
      actions.forEach(function (action) { p.appendChild(action); p.appendChild(document.createTextNode(" ")); });
      details.appendChild(p);
    }
  }

  function showNode(node) {
    var d = node.data();
    var profile = document.createElement("a");
    profile.href = "/entities/" + encodeURIComponent(d.id);
    profile.textContent = "Open the profile";
    var expandButton = button("Expand", function () { expand(d.id); });
    var from = button("Path from here", function () { document.getElementById("path-source").value = d.id; });
    var to = button("Path to here", function () { document.getElementById("path-target").value = d.id; });
    panel(d.label, [
      ["Schema", d.schema],
      ["Id", d.id],
      ["Merged records", d.entity_ids.length > 1 ? d.entity_ids.join(", ") : null],
      ["Country", d.country],
      ["Datasets", d.datasets.join(", ")],
      ["Marking", badge(d.marking)],
      ["Hub", node.hasClass("hub") ? "too many edges to expand" : null],
    ], [expandButton, from, to, profile]);
  }

  function showEdge(edge) {
    var d = edge.data();
    var evidence = d.evidence || {};
    var amount = d.amount !== null && d.amount !== undefined ? d.amount.toLocaleString("en") +
      (d.currency ? " " + d.currency : "") : null;
    var share = d.share ? shareText(d.share) : null;
    panel(d.label, [
      ["From", label(d.source)],
      ["To", label(d.target)],
      ["Relation", d.relation],
      ["Evidence", evidence.caption || evidence.entity_id],
      ["Evidence datasets", d.datasets.join(", ")],
      ["Marking", badge(d.marking)],
      ["From date", d.start],
      ["Until", d.end],
      ["Amount", amount],
      ["Share", share],
      ["Qualifier", d.qualifier],
    ], []);
  }

  function shareText(share) {
    if (share.min === null && share.max === null) { return "not stated"; }
    if (share.min === share.max) { return share.min + " %"; }
    return (share.min === null ? "?" : share.min) + "–" + (share.max === null ? "?" : share.max) + " %";
  }

  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function badge(marking) {
    var span = document.createElement("span");
    span.className = "tlp tlp-" + marking.toLowerCase().replace("+", "-");
    span.textContent = "TLP:" + marking;
    return span;
  }

  function legend() {
    var list = document.getElementById("network-legend-items");
    if (!list) { return; }
    list.textContent = "";
    var schemata = {};
    cy.nodes().forEach(function (n) { schemata[n.data("schema")] = n.data("colour"); });
    Object.keys(schemata).sort().forEach(function (schema) {
      var li = item("dot", schema);
      li.firstChild.style.backgroundColor = schemata[schema];  // CSSOM, which the CSP allows
      list.appendChild(li);
    });
    var families = {};
    cy.edges().forEach(function (e) { families[e.data("family")] = true; });
    FAMILIES.concat([{ name: "other", label: "other relations" }]).forEach(function (f) {
      if (families[f.name]) { list.appendChild(item("line line-" + f.name, f.label)); }
    });
    if (cy.edges(".red").length) { list.appendChild(item("line line-red", "rests on TLP:RED evidence")); }
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

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function pathSay(text) {
    if (pathResult) { pathResult.textContent = text; }
  }

  // -- search suggestions: /search.json when the app has it; otherwise the box takes an id ---

  function suggest(input, list) {
    var timer = null;
    var seq = 0;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 3) { return; }
      timer = window.setTimeout(function () {
        var mine = ++seq;
        fetch("/search.json?q=" + encodeURIComponent(q) + "&limit=8",
          { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (body) {
            if (mine !== seq || !body) { return; }
            var hits = body.results || body.hits || body.entities || [];
            list.textContent = "";
            hits.slice(0, 8).forEach(function (hit) {
              var id = hit.id || hit.entity_id;
              if (!id) { return; }
              var option = document.createElement("option");
              option.value = id;
              option.label = (hit.caption || hit.name || id) + (hit.schema ? " (" + hit.schema + ")" : "");
              list.appendChild(option);
            });
          })
          .catch(function () { /* no search here: the box takes an id */ });
      }, 400);
    });
  }

  // -- Cytoscape styles ----------------------------------------------------------------------

  function styles() {
    return [
      { selector: "node", style: {
        "background-color": "data(colour)", label: "data(label)", "font-size": 10, "text-valign": "bottom",
        "text-margin-y": 4, "text-wrap": "ellipsis", "text-max-width": 140, width: 18, height: 18,
        color: "#1b1f24", "text-background-color": "#ffffff", "text-background-opacity": 0.8,
        "text-background-padding": 1,
      } },
      { selector: "node.expanded", style: { "border-width": 2, "border-color": "#1b1f24" } },
      { selector: "node.hub", style: { shape: "diamond", "border-width": 2, "border-style": "dashed",
        "border-color": "#5a6270" } },
      { selector: "node:selected", style: { "overlay-opacity": 0.15, "overlay-color": "#0b5cad" } },
      { selector: "edge", style: {
        width: 1.6, "line-color": "#94a3b8", "target-arrow-color": "#94a3b8", "target-arrow-shape": "triangle",
        "curve-style": "bezier", "arrow-scale": 0.8, label: "", "font-size": 8,
      } },
      { selector: "edge[family = 'ownership']", style: { "line-color": "#1e3a8a", "target-arrow-color": "#1e3a8a",
        width: 2.4 } },
      { selector: "edge[family = 'role']", style: { "line-color": "#0f766e", "target-arrow-color": "#0f766e" } },
      { selector: "edge[family = 'personal']", style: { "line-color": "#7e22ce", "target-arrow-color": "#7e22ce",
        "target-arrow-shape": "none" } },
      { selector: "edge[family = 'money']", style: { "line-color": "#15803d", "target-arrow-color": "#15803d",
        "line-style": "dashed", width: 2.2 } },
      { selector: "edge[family = 'goods']", style: { "line-color": "#b45309", "target-arrow-color": "#b45309",
        "line-style": "dotted", width: 2 } },
      { selector: "edge[family = 'dna']", style: { "line-color": "#be123c", "target-arrow-color": "#be123c",
        width: 2.4 } },
      { selector: "edge[family = 'shared']", style: { "line-color": "#a8a29e", "target-arrow-shape": "none",
        "line-style": "dotted" } },
      { selector: "edge.red", style: { "underlay-color": "#ff2b2b", "underlay-opacity": 0.25, "underlay-padding": 3 } },
      { selector: "edge:selected", style: { label: "data(label)", "text-rotation": "autorotate",
        "text-background-color": "#ffffff", "text-background-opacity": 0.9 } },
      { selector: ".on-path", style: { "overlay-color": "#f59e0b", "overlay-opacity": 0.35, "overlay-padding": 4 } },
      { selector: "edge.off", style: { display: "none" } },
    ];
  }
})();
