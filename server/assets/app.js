// The console's own script: the CSRF header on every htmx request, live
// fragments that answer 304 when nothing changed, confirmations, the
// bundle upload with its progress bar, and the telemetry charts (data from
// a JSON block beside each chart, so no inline script is needed).
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }

  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "304", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: false, error: true }
    ];
    document.addEventListener("htmx:configRequest", function (e) {
      e.detail.headers["X-CSRF-Token"] = csrf();
      var tag = e.detail.elt && e.detail.elt.dataset ? e.detail.elt.dataset.etag : null;
      if (tag && e.detail.verb === "get") {
        e.detail.headers["If-None-Match"] = tag;
      }
    });
    document.addEventListener("htmx:afterRequest", function (e) {
      var xhr = e.detail.xhr;
      var tag = xhr && xhr.getResponseHeader("ETag");
      var target = e.detail.target;
      if (tag && target && target.dataset) {
        target.dataset.etag = tag;
      }
    });
    // An action refused (a stale page, a rollout that moved on): the
    // server's message above the page, not a silent nothing. A failed poll
    // says nothing; the next one tries again.
    document.addEventListener("htmx:responseError", function (e) {
      var xhr = e.detail.xhr;
      if (!xhr || e.detail.requestConfig.verb === "get") {
        return;
      }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var said = doc.querySelector(".banner.error");
      var main = document.getElementById("main");
      var flash = document.getElementById("flash");
      if (!flash && main) {
        flash = document.createElement("div");
        flash.id = "flash";
        flash.className = "banner error";
        flash.setAttribute("role", "alert");
        main.insertBefore(flash, main.firstChild);
      }
      if (flash) {
        flash.textContent = said ? said.textContent : "The server refused: " + xhr.status;
      }
    });
    // The queue refreshes under the agent's hands: keep what they ticked.
    var ticked = [];
    document.addEventListener("htmx:beforeSwap", function () {
      ticked = Array.prototype.map.call(
        document.querySelectorAll('input[name="ids"]:checked'), function (b) { return b.value; });
    });
    document.addEventListener("htmx:afterSwap", function (e) {
      ticked.forEach(function (v) {
        var b = document.querySelector('input[name="ids"][value="' + v + '"]');
        if (b) { b.checked = true; }
      });
      tick();
      var xhr = e.detail.xhr;
      var tag = xhr && xhr.getResponseHeader("ETag");
      var el = e.detail.elt;
      if (tag && el && el.dataset) {
        el.dataset.etag = tag;
      }
      charts(document);
    });
  }

  // Forms that ask first: <form data-confirm="Abort this rollout?"> (or
  // <button data-confirm=…>).
  // And an htmx form that asks (hx-confirm) but arrived in a live part a
  // moment ago: htmx takes over swapped-in content only once it settles
  // (20 ms later), and a click in between would post the form as a plain
  // form, unconfirmed. Such a submit is stopped, the form handed to htmx
  // and submitted again, so htmx asks. (`initHash` is what htmx 2 sets on
  // an element it has processed; VENDORED.md pins the version.)
  document.addEventListener("submit", function (e) {
    var f = e.target;
    // The button pressed may ask instead of its form (one form, two actions).
    var ask = (e.submitter && e.submitter.dataset && e.submitter.dataset.confirm) ||
      (f.dataset && f.dataset.confirm);
    if (ask && !window.confirm(ask)) {
      e.preventDefault();
      return;
    }
    var taken = f["htmx-internal-data"] && f["htmx-internal-data"].initHash;
    if (window.htmx && f.hasAttribute && f.hasAttribute("hx-confirm") && !taken) {
      e.preventDefault();
      e.stopImmediatePropagation();
      htmx.process(f);
      f.requestSubmit();
    }
  }, true);

  // Bundle upload: the file streamed as the body, with a progress bar.
  function upload(form) {
    var input = form.querySelector('input[type="file"]');
    var bar = form.querySelector("progress");
    var note = form.querySelector(".upload-note");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!input.files.length) {
        note.textContent = "Choose a bundle file (.wcb) first.";
        return;
      }
      var file = input.files[0];
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", function (p) {
        if (p.lengthComputable) {
          bar.max = p.total;
          bar.value = p.loaded;
          note.textContent = Math.round(100 * p.loaded / p.total) + " % of " + file.name;
        }
      });
      xhr.addEventListener("load", function () {
        var answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = {}; }
        if (xhr.status >= 200 && xhr.status < 300 && answer.location) {
          window.location = answer.location;
        } else {
          note.textContent = answer.detail || ("The upload failed (" + xhr.status + ").");
          note.classList.add("error");
        }
      });
      xhr.addEventListener("error", function () {
        note.textContent = "The upload was interrupted: nothing was stored; try again.";
        note.classList.add("error");
      });
      note.classList.remove("error");
      note.textContent = "Uploading " + file.name + "…";
      xhr.send(file);
    });
  }

  // Telemetry charts: <div class="chart" data-chart="ID"> with
  // <script type="application/json" id="ID"> holding
  // {x:[…], series:[{label, unit, values:[…], min:[…]?, max:[…]?}], markers:[{at, kind, label}]}.
  function charts(root) {
    if (!window.uPlot) { return; }
    root.querySelectorAll("div.chart[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var src = document.getElementById(el.dataset.chart);
      if (!src) { return; }
      var d = JSON.parse(src.textContent);
      el.dataset.drawn = "1";
      var s = d.series[0];
      var data = [d.x, s.values];
      var series = [{}, { label: s.label + (s.unit ? " (" + s.unit + ")" : ""), stroke: "#1f5fbf", width: 2 }];
      var bands = [];
      if (s.min && s.max) {
        data.push(s.max, s.min);
        series.push({ label: "max", stroke: "#9bb7e0", width: 1 });
        series.push({ label: "min", stroke: "#9bb7e0", width: 1 });
        bands.push({ series: [2, 3], fill: "rgba(31,95,191,0.12)" });
      }
      var markers = d.markers || [];
      // Large values (memory in KiB, uptime in seconds) in short form so
      // the axis never cuts them off: 1.2M, 350k.
      function compact(v) {
        var a = Math.abs(v);
        if (a >= 1e9) { return +(v / 1e9).toFixed(1) + "G"; }
        if (a >= 1e6) { return +(v / 1e6).toFixed(1) + "M"; }
        if (a >= 1e4) { return +(v / 1e3).toFixed(0) + "k"; }
        return String(+v.toFixed(2));
      }
      var opts = {
        width: Math.max(280, el.clientWidth || 600),
        height: 220,
        series: series,
        bands: bands,
        scales: { x: { time: true } },
        axes: [{}, { size: 56, values: function (u, ticks) { return ticks.map(compact); } }],
        hooks: {
          draw: [function (u) {
            var ctx = u.ctx;
            markers.forEach(function (m) {
              var x = Math.round(u.valToPos(m.at, "x", true));
              if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) { return; }
              ctx.save();
              ctx.strokeStyle = m.kind === "fault" ? "#c0392b" : "#2e7d32";
              ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
              ctx.setLineDash(m.kind === "fault" ? [4, 3] : []);
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.restore();
            });
          }]
        }
      };
      new uPlot(opts, data, el);
    });
  }

  // SLA countdowns tick each second against the server's clock: the part
  // says when it was drawn (data-now, server time); the offset to the
  // browser's clock is taken once per element.
  function span(s) {
    s = Math.abs(s);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), x = s % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (d > 0) { return d + " d " + h + " h"; }
    if (h > 0) { return h + " h " + two(m) + " m"; }
    return m + " m " + two(x) + " s";
  }
  function tick() {
    var here = Date.now() / 1000;
    document.querySelectorAll("time.countdown[data-due]").forEach(function (el) {
      if (!el.dataset.offset) { el.dataset.offset = String(Number(el.dataset.now) - here); }
      var left = Math.round(Number(el.dataset.due) - here - Number(el.dataset.offset));
      el.textContent = el.title + " " + (left > 0 ? "in " + span(left) : "breached " + span(left) + " ago");
      if (left <= 0) { el.classList.remove("ok", "warn"); el.classList.add("bad"); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.upload").forEach(upload);
    charts(document);
    tick();
    window.setInterval(tick, 1000);
  });
})();

// A file input that fills a textarea (<input type="file" data-fills="ID">):
// the CSV import reads the file in the browser, nothing is uploaded twice.
document.addEventListener("change", function (e) {
  var input = e.target;
  if (!input.dataset || !input.dataset.fills || !input.files || !input.files.length) { return; }
  var target = document.getElementById(input.dataset.fills);
  var reader = new FileReader();
  reader.onload = function () { target.value = reader.result; };
  reader.readAsText(input.files[0]);
});
