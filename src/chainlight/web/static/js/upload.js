// Upload pages. On /upload the form is sent with XMLHttpRequest to /upload.json, so that the
// file's transfer shows on a progress bar; the answer is the new job (then its page opens) or
// a Problem (its words shown above the form). Without JavaScript the form posts to /upload as
// usual. On /upload/jobs/{id} the job's JSON twin is polled every second until the ingest has
// finished, then the page reloads to show the result. No inline scripts or styles (the
// Content-Security-Policy forbids them).
(function () {
  "use strict";

  var POLL_MS = 1000;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function size(n) {
    var units = [["GiB", 1073741824], ["MiB", 1048576], ["KiB", 1024]];
    for (var i = 0; i < units.length; i++) {
      if (n >= units[i][1]) { return (n / units[i][1]).toPrecision(3) + " " + units[i][0]; }
    }
    return n + " bytes";
  }

  function number(n) { return Number(n).toLocaleString("en-GB"); }

  function sendForm(form) {
    var error = document.getElementById("upload-error");
    var bar = document.getElementById("upload-progress");
    var text = document.getElementById("upload-progress-text");
    var button = form.querySelector('button[type="submit"]');

    function fail(message) {
      error.textContent = message;
      error.hidden = false;
      bar.hidden = true;
      text.textContent = "";
      button.disabled = false;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      button.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      var request = new XMLHttpRequest();
      request.open("POST", form.getAttribute("data-json-url"));
      request.setRequestHeader("X-CSRF-Token", csrfToken());
      request.setRequestHeader("Accept", "application/json");
      request.responseType = "json";
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && e.total > 0) {
          bar.value = e.loaded / e.total;
          text.textContent = "Sent " + size(e.loaded) + " of " + size(e.total) + ".";
        }
      });
      request.upload.addEventListener("load", function () {
        text.textContent = "Sent; checking the file and starting the ingest.";
      });
      request.addEventListener("load", function () {
        var body = request.response;
        if (request.status === 200 && body && body.job_id) {
          window.location.assign("/upload/jobs/" + encodeURIComponent(body.job_id));
        } else {
          fail(body && body.error ? body.error : "The upload was refused (HTTP " + request.status + ").");
        }
      });
      request.addEventListener("error", function () {
        fail("The upload was interrupted: check the connection and try again.");
      });
      request.send(new FormData(form));
    });
  }

  function followJob(section) {
    if (section.getAttribute("data-finished") === "true") { return; }
    var url = section.getAttribute("data-json-url");
    var bar = document.getElementById("job-progress");

    function show(job) {
      var fields = section.querySelectorAll("[data-field]");
      for (var i = 0; i < fields.length; i++) {
        var name = fields[i].getAttribute("data-field");
        var value = job[name];
        if (name === "bytes_read") { value = size(value); }
        else if (typeof value === "number") { value = number(value); }
        fields[i].textContent = value === null || value === undefined ? "" : value;
      }
      var state = section.querySelector('[data-field="state"]');
      if (state) { state.className = "job-status job-" + job.state; }
      if (bar) { bar.max = Math.max(job.size, 1); bar.value = job.bytes_read; }
    }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (job) {
          show(job);
          if (job.finished) { window.location.reload(); } else { window.setTimeout(poll, POLL_MS); }
        })
        .catch(function () { window.setTimeout(poll, POLL_MS * 5); });
    }

    window.setTimeout(poll, POLL_MS);
  }

  var form = document.getElementById("upload-form");
  if (form && window.XMLHttpRequest && window.FormData) { sendForm(form); }
  var job = document.getElementById("job");
  if (job && window.fetch) { followJob(job); }
})();
