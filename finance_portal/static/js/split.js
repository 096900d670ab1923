/* The split form (bill page): one row per part, rows added and removed here, and the running sum of the parts
   with what is left to share out of the face, in whole cents (no float rounding). Rows post as
   parts-<n>-face and parts-<n>-transfer_to; the page turns them into the service's parts. */
(function () {
  "use strict";
  var AMOUNT = /^[0-9]+(\.[0-9]{1,2})?$/;

  function cents(text) {
    var clean = String(text || "").trim();
    if (!AMOUNT.test(clean)) { return null; }
    var pieces = clean.split(".");
    return parseInt(pieces[0], 10) * 100 + parseInt(((pieces[1] || "") + "00").slice(0, 2), 10);
  }
  function show(value, currency) {
    var sign = value < 0 ? "\u2212" : "";
    var whole = Math.floor(Math.abs(value) / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var rest = ("0" + (Math.abs(value) % 100)).slice(-2);
    return sign + whole + "." + rest + " " + currency;
  }
  function rows(box) { return Array.prototype.slice.call(box.querySelectorAll("[data-split-rows] [data-split-row]")); }

  function update(box) {
    var face = cents(box.getAttribute("data-face"));
    var currency = box.getAttribute("data-currency") || "";
    var total = 0;
    var readable = true;
    rows(box).forEach(function (row) {
      var input = row.querySelector("[data-split-amount]");
      if (!input.value.trim()) { return; }
      var value = cents(input.value);
      if (value === null) { readable = false; } else { total += value; }
    });
    box.querySelector("[data-split-total]").textContent = readable ? show(total, currency) : "?";
    var remaining = box.querySelector("[data-split-remaining]");
    remaining.textContent = readable && face !== null ? show(face - total, currency) : "?";
    remaining.classList.toggle("late", readable && face !== null && face - total !== 0);
    var all = rows(box);
    all.forEach(function (row) {
      var remove = row.querySelector("[data-split-remove]");
      if (remove) { remove.hidden = all.length <= 2; }
    });
  }

  function renumber(box) {
    rows(box).forEach(function (row, i) {
      row.querySelectorAll("label").forEach(function (label) {
        label.textContent = label.textContent.replace(/\d+/, String(i + 1));
      });
    });
  }

  function add(box) {
    var template = box.querySelector("template[data-split-template]");
    var next = 0;
    rows(box).forEach(function (row) {
      var input = row.querySelector("[data-split-amount]");
      var match = /^parts-(\d+)-face$/.exec(input.name);
      if (match) { next = Math.max(next, parseInt(match[1], 10) + 1); }
    });
    var html = template.innerHTML.split("__i__").join(String(next)).split("__n__").join(String(rows(box).length + 1));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    box.querySelector("[data-split-rows]").appendChild(row);
    if (window.htmx) { window.htmx.process(row); }
    renumber(box);
    update(box);
    row.querySelector("[data-split-amount]").focus();
  }

  function setUp(box) {
    box.querySelector("[data-split-add]").hidden = false;
    box.querySelector("[data-split-sum]").hidden = false;
    box.addEventListener("input", function (event) {
      if (event.target.matches("[data-split-amount]")) { update(box); }
    });
    box.addEventListener("click", function (event) {
      if (!(event.target instanceof Element)) { return; }
      if (event.target.closest("[data-split-add]")) {
        add(box);
      } else if (event.target.closest("[data-split-remove]") && rows(box).length > 2) {
        var row = event.target.closest("[data-split-row]");
        var before = row.previousElementSibling || row.nextElementSibling;
        row.remove();
        renumber(box);
        update(box);
        if (before) { before.querySelector("[data-split-amount]").focus(); }
      }
    });
    update(box);
  }

  function start() { document.querySelectorAll("[data-split]").forEach(setUp); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
