// gitward web UI: progressive enhancement over server-rendered pages.
//
// Every page works without this script (links, GET filter forms, POST forms with a CSRF field).
// With it:
//   - live regions: elements with [data-live][id] are re-fetched from the server and swapped in
//     place when the event stream (body[data-stream], GET /api/v1/stream) reports a change, so a
//     page updates without a reload;
//   - filters apply as you type (the list regions are swapped, the URL is kept in step);
//   - forms with [data-async] are sent with fetch and the X-Gitward-CSRF header; a sync or rollback
//     shows the app page at once and its operation live while the request runs;
//   - "/" focuses the search box.
// No dependencies and nothing loaded from elsewhere: the Content-Security-Policy allows only /static.
(function () {
  "use strict";

  var CSRF_HEADER = "X-Gitward-CSRF";
  var source = null;
  var refreshTimer = null;
  var refreshing = false;
  var refreshAgain = false;

  function csrfToken() {
    var meta = document.querySelector('meta[name="gitward-csrf"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function toast(message) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 8000);
  }

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  // Replace every live region of the page by the same region of a freshly rendered copy.
  function swapRegions(doc) {
    var regions = document.querySelectorAll("[data-live][id]");
    for (var i = 0; i < regions.length; i++) {
      var fresh = doc.getElementById(regions[i].id);
      if (fresh) regions[i].replaceWith(document.importNode(fresh, true));
    }
  }

  function refresh(url) {
    if (refreshing) { refreshAgain = true; return Promise.resolve(); }
    refreshing = true;
    return fetch(url || location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (answer) {
        if (answer.redirected && answer.url.indexOf("/login") >= 0) { location.href = answer.url; return null; }
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) { if (html) swapRegions(parse(html)); })
      .catch(function () { /* the next event or reload tries again */ })
      .then(function () {
        refreshing = false;
        if (refreshAgain) { refreshAgain = false; scheduleRefresh(); }
      });
  }

  function scheduleRefresh() {
    var wait = document.body.getAttribute("data-stream") === "/api/v1/stream" ? 1500 : 300;
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; refresh(); }, wait);
  }

  function setLive(on) {
    var dot = document.getElementById("live-state");
    if (!dot) return;
    dot.classList.toggle("on", on);
    dot.textContent = on ? "live" : "offline";
  }

  function connect() {
    var url = document.body.getAttribute("data-stream");
    if (source) { source.close(); source = null; }
    if (!url || !window.EventSource) return;
    source = new EventSource(url);
    source.onopen = function () { setLive(true); };
    source.onerror = function () { setLive(false); };
    source.addEventListener("status", scheduleRefresh);
    source.addEventListener("end", function () { setLive(false); });
    source.addEventListener("reset", function () {
      // Events were missed: redraw from the server and start a fresh stream (no Last-Event-ID).
      refresh();
      setTimeout(connect, 1000);
    });
  }

  // Show another page's content in place (used while a write runs), keeping this script's state.
  function showPage(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = parse(html);
        document.querySelector("main").replaceWith(document.importNode(doc.querySelector("main"), true));
        document.title = doc.title;
        document.body.setAttribute("data-stream", doc.body.getAttribute("data-stream") || "");
        history.pushState({}, "", url);
        connect();
        enhance(document.querySelector("main"));
      });
  }

  function errorText(answer, body) {
    try {
      var data = JSON.parse(body);
      if (data && data.message) return data.message;
    } catch (e) { /* an HTML error page */ }
    var doc = parse(body);
    var alert = doc.querySelector('[role="alert"]');
    return (alert ? alert.textContent : "") || answer.status + " " + answer.statusText;
  }

  function submitAsync(form, event) {
    event.preventDefault();
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    var button = form.querySelector("button[type=submit]");
    if (button) { button.setAttribute("aria-busy", "true"); button.disabled = true; }
    if (form.getAttribute("data-busy")) toast(form.getAttribute("data-busy"));
    var body = new URLSearchParams(new FormData(form));
    var headers = { "Content-Type": "application/x-www-form-urlencoded", Accept: "text/html" };
    headers[CSRF_HEADER] = csrfToken();
    var action = form.getAttribute("action");
    var appPage = action.replace(/\/(sync|rollback\/\d+|refresh)$/, "");
    var request = fetch(action, { method: "POST", body: body, headers: headers, credentials: "same-origin" });
    // While a sync or rollback runs, show the app page so its operation is seen live.
    if (appPage !== action && location.pathname !== appPage) showPage(appPage);
    request
      .then(function (answer) {
        return answer.text().then(function (text) {
          if (!answer.ok) { toast(errorText(answer, text)); return; }
          var box = document.getElementById("toast");
          if (box) box.hidden = true;
          if (answer.redirected && answer.url.indexOf("/login") >= 0) { location.href = answer.url; return; }
          refresh();
        });
      })
      .catch(function () { toast("the server did not answer; the page updates when it does"); })
      .then(function () { if (button) { button.removeAttribute("aria-busy"); button.disabled = false; } });
  }

  function liveFilter(form) {
    var timer = null;
    function apply() {
      var params = new URLSearchParams(new FormData(form));
      var keys = Array.from(params.keys());
      keys.forEach(function (key) { if (!params.get(key)) params.delete(key); });
      var url = form.getAttribute("action") + (params.toString() ? "?" + params.toString() : "");
      history.replaceState({}, "", url);
      refresh(url);
    }
    form.addEventListener("input", function (event) {
      if (event.target.type !== "search" && event.target.tagName !== "INPUT") return;
      clearTimeout(timer);
      timer = setTimeout(apply, 250);
    });
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT" || event.target.type === "checkbox") apply();
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  }

  function enhance(root) {
    var forms = root.querySelectorAll("form[data-async]");
    for (var i = 0; i < forms.length; i++) {
      if (forms[i]._enhanced) continue;
      forms[i]._enhanced = true;
      forms[i].addEventListener("submit", submitAsync.bind(null, forms[i]));
    }
    var filter = root.querySelector("form[data-live-filter]");
    if (filter && !filter._enhanced) { filter._enhanced = true; liveFilter(filter); }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA");
    if (event.key === "/" && !typing) {
      var box = document.querySelector('[data-key="/"]');
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    } else if (event.key === "Escape" && typing) {
      target.blur();
    }
  });

  // The live regions were enhanced once; forms inside swapped regions need it again.
  new MutationObserver(function () { enhance(document); }).observe(document.body, { childList: true, subtree: true });

  window.addEventListener("popstate", function () { location.reload(); });

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    connect();
    var every = Number(document.body.getAttribute("data-refresh-every") || 0);
    if (every > 0) setInterval(refresh, every * 1000);
    window.gitward = { refresh: refresh, connected: function () { return source && source.readyState === 1; } };
  });
})();
