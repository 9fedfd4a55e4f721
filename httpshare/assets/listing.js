"use strict";
(function () {
  var table = document.querySelector("table.list");
  if (!table) return;
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows).filter(function (r) {
    return !r.classList.contains("up");
  });
  // Name, size and time come from what the row shows.
  function nameOf(r) {
    return r.cells[0].querySelector("a").textContent.replace(/\/$/, "");
  }
  function sizeOf(r) {
    var n = parseInt(r.cells[1].title, 10);
    return isNaN(n) ? -1 : n;
  }
  function timeOf(r) {
    var el = r.querySelector("time");
    var t = el ? Date.parse(el.getAttribute("datetime")) : NaN;
    return isNaN(t) ? 0 : t;
  }
  var names = rows.map(function (r) { return nameOf(r).toLowerCase(); });

  // Relative times, the absolute one on hover.
  var now = Date.now();
  var units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
  function ago(t) {
    var s = Math.round((now - t) / 1000);
    if (s < 45) return s < -45 ? "in the future" : "just now";
    for (var i = 0; i < units.length; i++) {
      var n = Math.floor(s / units[i][1]);
      if (n >= 1) return n + " " + units[i][0] + (n > 1 ? "s" : "") + " ago";
    }
    return "just now";
  }
  rows.forEach(function (r) {
    var el = r.querySelector("time");
    if (!el) return;
    var t = Date.parse(el.getAttribute("datetime"));
    if (!isNaN(t)) {
      el.title = el.textContent;
      el.textContent = ago(t);
    }
  });

  // Filter box: narrows the rows as you type; "/" focuses it.
  var box = document.getElementById("filter");
  var count = document.getElementById("shown");
  box.hidden = false;
  function filter() {
    var q = box.value.toLowerCase();
    var shown = 0;
    rows.forEach(function (r, i) {
      var hit = q === "" || names[i].indexOf(q) >= 0;
      r.hidden = !hit;
      if (hit) shown++;
    });
    count.textContent = q === "" ? "" : shown + " of " + rows.length + " shown";
  }
  box.addEventListener("input", filter);
  // Arrow keys move between the shown rows' links, from the filter box too.
  function step(from, by) {
    var links = Array.prototype.filter.call(tbody.querySelectorAll("td.n a"), function (a) {
      return !a.closest("tr").hidden;
    });
    var i = links.indexOf(from);
    var next = links[i < 0 ? (by > 0 ? 0 : links.length - 1) : i + by];
    if (next) next.focus();
    else if (by < 0) box.focus();
  }
  document.addEventListener("keydown", function (e) {
    var el = document.activeElement;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "/" && el !== box) {
      e.preventDefault();
      box.focus();
    } else if (e.key === "Escape" && el === box) {
      box.value = "";
      filter();
    } else if ((e.key === "ArrowDown" || e.key === "ArrowUp") && (el === box || (el && el.closest && el.closest("td.n")))) {
      e.preventDefault();
      step(el === box ? null : el, e.key === "ArrowDown" ? 1 : -1);
    }
  });

  // Copy-link buttons; the Clipboard API needs a secure context, which a
  // LAN address is not, so fall back to a selection copy.
  function copy(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
      return;
    }
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "offscreen";
    document.body.appendChild(ta);
    ta.select();
    try { if (document.execCommand("copy")) done(); } catch (err) {}
    document.body.removeChild(ta);
  }
  table.addEventListener("click", function (e) {
    var b = e.target.closest("button.cp");
    if (!b) return;
    var a = b.closest("tr").querySelector("td.n a");
    copy(a.href, function () {
      b.textContent = "copied";
      setTimeout(function () { b.textContent = "copy"; }, 1500);
    });
  });
  rows.forEach(function (r) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "cp";
    b.textContent = "copy";
    b.setAttribute("aria-label", "copy the link to " + nameOf(r));
    r.cells[0].insertBefore(b, r.cells[0].firstChild);
  });

  // Client-side sort with the same buttons the server understands. The
  // keys are read once, so sorting 10,000 rows stays quick.
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  var records = rows.map(function (r, i) {
    return { row: r, i: i, dir: r.classList.contains("d"), name: nameOf(r), size: sizeOf(r), time: timeOf(r) };
  });
  table.tHead.addEventListener("click", function (e) {
    var a = e.target.closest("button[data-sort]");
    if (!a) return;
    e.preventDefault();
    var by = a.getAttribute("data-sort");
    var desc = a.getAttribute("data-order") === "desc";
    var sorted = records.slice().sort(function (x, y) {
      if (x.dir !== y.dir) return x.dir ? -1 : 1;
      // As on the server: the order applies to the key, ties go by name.
      var c = by === "size" ? x.size - y.size : by === "time" ? x.time - y.time : collator.compare(x.name, y.name);
      if (desc) c = -c;
      if (c === 0) c = collator.compare(x.name, y.name);
      return c === 0 ? x.i - y.i : c;
    }).map(function (x) { return x.row; });
    // Fill a detached body and swap it in: one change to the page
    // instead of 10,000 moves.
    var fresh = tbody.cloneNode(false);
    var up = tbody.querySelector("tr.up");
    if (up) fresh.appendChild(up);
    sorted.forEach(function (r) { fresh.appendChild(r); });
    table.replaceChild(fresh, tbody);
    tbody = fresh;
    Array.prototype.forEach.call(table.tHead.querySelectorAll("button[data-sort]"), function (h) {
      var th = h.closest("th"), mine = h === a;
      th.setAttribute("aria-sort", mine ? (desc ? "descending" : "ascending") : "none");
      h.setAttribute("data-order", mine && !desc ? "desc" : "asc");
    });
    var here = new URLSearchParams();
    here.set("sort", by);
    if (desc) here.set("order", "desc");
    history.replaceState(null, "", "?" + here.toString());
  });

  // Commands to fetch this folder from a terminal, with this page's address.
  var origin = location.origin;
  Array.prototype.forEach.call(document.querySelectorAll("code[data-cmd]"), function (c) {
    c.textContent = c.getAttribute("data-cmd").split("ORIGIN").join(origin).split("HOSTNAME").join(location.hostname);
  });
})();
