/* Counterparty pickers (templates/portal/_picker.html): htmx fills the list of matching organizations as the
   user types; this makes the list usable by keyboard and mouse. Choosing an organization puts its credit code
   in the field and names it beside the field. Without this script the field takes the code as typed. */
(function () {
  "use strict";
  var counter = 0;

  function parts(input) {
    var box = input.closest("[data-picker]");
    return box ? { box: box, list: box.querySelector("[role=listbox]"), chosen: box.querySelector("[data-picker-chosen]") } : null;
  }
  function options(list) {
    return Array.prototype.slice.call(list.querySelectorAll(".picker-option"));
  }
  function close(input, p) {
    p.list.innerHTML = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }
  function activate(input, p, index) {
    var all = options(p.list);
    all.forEach(function (o, i) {
      o.setAttribute("aria-selected", i === index ? "true" : "false");
      o.classList.toggle("active", i === index);
    });
    if (all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    }
  }
  function choose(input, p, option) {
    input.value = option.getAttribute("data-code");
    if (p.chosen) { p.chosen.textContent = option.getAttribute("data-name") + " · " + option.getAttribute("data-code"); }
    close(input, p);
    input.focus();
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (!list || list.getAttribute("role") !== "listbox") { return; }
    var box = list.closest("[data-picker]");
    var input = box && box.querySelector("[role=combobox]");
    if (!input) { return; }
    options(list).forEach(function (o) { counter += 1; o.id = input.id + "-option-" + counter; });
    input.setAttribute("aria-expanded", list.children.length ? "true" : "false");
    input.removeAttribute("aria-activedescendant");
    if (document.activeElement !== input) { close(input, parts(input)); }
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.getAttribute("role") !== "combobox") { return; }
    var p = parts(input);
    if (!p) { return; }
    var all = options(p.list);
    var current = all.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      activate(input, p, current < all.length - 1 ? current + 1 : 0);
    } else if (event.key === "ArrowUp" && all.length) {
      event.preventDefault();
      activate(input, p, current > 0 ? current - 1 : all.length - 1);
    } else if (event.key === "Enter" && current >= 0) {
      event.preventDefault(); // choose, do not submit the form
      choose(input, p, all[current]);
    } else if (event.key === "Escape" && all.length) {
      event.preventDefault();
      close(input, p);
    }
  });

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.getAttribute("role") === "combobox") {
      var p = parts(input);
      if (p && p.chosen) { p.chosen.textContent = ""; }
    }
  });

  // mousedown, not click: the choice lands before the field loses focus.
  document.addEventListener("mousedown", function (event) {
    var option = event.target instanceof Element ? event.target.closest(".picker-option") : null;
    if (!option) { return; }
    var box = option.closest("[data-picker]");
    var input = box && box.querySelector("[role=combobox]");
    if (input) {
      event.preventDefault();
      choose(input, parts(input), option);
    }
  });

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.getAttribute("role") === "combobox") {
      var p = parts(input);
      if (p) { window.setTimeout(function () { if (document.activeElement !== input) { close(input, p); } }, 150); }
    }
  });
})();
