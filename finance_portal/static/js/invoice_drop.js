/* Drag-and-drop of several invoice files on the upload page (templates/invoices/upload.html).
 *
 * Progressive enhancement: without this script the drop zone stays hidden and the plain form works as before.
 * Each dropped or chosen file gets a card (cloned from <template id="drop-item-template">) with its own code,
 * number, date and amounts; the buyer and the currency are read from the page's form when uploading. Each file
 * is posted to the same upload URL with XMLHttpRequest (for its upload progress) asking for JSON, and its card
 * shows the progress and the result: registered (with a link) or refused (with the service's message).
 */
(function () {
  "use strict";

  var SHARED = ["buyer_credit_code", "currency"];
  var PARALLEL = 2;
  var serial = 0;

  function init() {
    var zone = document.getElementById("invoice-drop");
    var form = document.getElementById("invoice-upload-form");
    var template = document.getElementById("drop-item-template");
    if (!zone || !form || !template || !window.FormData || !window.XMLHttpRequest) {
      return;
    }
    var input = document.getElementById("drop-files");
    var list = document.getElementById("drop-items");
    var button = document.getElementById("drop-upload");
    var status = document.getElementById("drop-status");
    zone.classList.add("ready");

    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", function () {
      zone.classList.remove("over");
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer && event.dataTransfer.files) {
        addFiles(event.dataTransfer.files);
      }
    });
    input.addEventListener("change", function () {
      addFiles(input.files);
      input.value = "";
    });
    button.addEventListener("click", uploadAll);

    function addFiles(files) {
      var dateInput = form.querySelector("[name=issue_date]");
      for (var i = 0; i < files.length; i++) {
        var item = template.content.firstElementChild.cloneNode(true);
        serial += 1;
        item.file = files[i];
        item.querySelector(".drop-name").textContent = files[i].name;
        item.querySelectorAll("[data-name]").forEach(function (field) {
          field.id = "drop-" + serial + "-" + field.getAttribute("data-name");
          field.name = field.getAttribute("data-name");
        });
        item.querySelectorAll("label[data-for]").forEach(function (label) {
          label.htmlFor = "drop-" + serial + "-" + label.getAttribute("data-for");
        });
        var date = item.querySelector("[data-name=issue_date]");
        if (date && dateInput && dateInput.value) {
          date.value = dateInput.value;
        }
        setResult(item, zone.getAttribute("data-pending"), "");
        item.querySelector(".drop-remove").addEventListener("click", removeItem);
        list.appendChild(item);
      }
      button.hidden = list.children.length === 0;
    }

    function removeItem(event) {
      var item = event.target.closest(".drop-item");
      if (item && !item.busy) {
        item.remove();
      }
      button.hidden = list.children.length === 0;
    }

    function uploadAll() {
      status.hidden = true;
      for (var s = 0; s < SHARED.length; s++) {
        var shared = form.querySelector("[name=" + SHARED[s] + "]");
        if (!shared || !shared.value.trim()) {
          status.textContent = zone.getAttribute("data-shared-error");
          status.hidden = false;
          if (shared) {
            shared.focus();
          }
          return;
        }
      }
      var queue = Array.prototype.filter.call(list.children, function (item) {
        return !item.done && !item.busy;
      });
      var next = function () {
        var item = queue.shift();
        if (item) {
          upload(item, next);
        }
      };
      for (var p = 0; p < PARALLEL; p++) {
        next();
      }
    }

    function upload(item, then) {
      var data = new FormData();
      data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      data.append("file", item.file, item.file.name);
      SHARED.forEach(function (name) {
        data.append(name, form.querySelector("[name=" + name + "]").value);
      });
      item.querySelectorAll("input[data-name]").forEach(function (field) {
        data.append(field.getAttribute("data-name"), field.value);
      });
      item.querySelectorAll("[data-error]").forEach(function (error) {
        error.hidden = true;
        error.textContent = "";
      });
      var bar = item.querySelector("progress");
      bar.value = 0;
      item.busy = true;
      setResult(item, zone.getAttribute("data-uploading"), "");

      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || window.location.pathname);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          bar.value = Math.round((event.loaded / event.total) * 100);
        }
      });
      xhr.addEventListener("load", function () {
        item.busy = false;
        var answer = null;
        try {
          answer = JSON.parse(xhr.responseText);
        } catch (err) {
          answer = null;
        }
        if (answer && answer.ok) {
          bar.value = 100;
          item.done = true;
          setResult(item, answer.message, "ok", answer.url);
          item.querySelectorAll("input").forEach(function (field) { field.disabled = true; });
        } else if (answer) {
          setResult(item, answer.message, "refused");
          Object.keys(answer.errors || {}).forEach(function (name) {
            var error = item.querySelector("[data-error=" + name + "]");
            if (error) {
              error.textContent = answer.errors[name].join(" ");
              error.hidden = false;
            }
          });
        } else {
          setResult(item, zone.getAttribute("data-network-error") + " (" + xhr.status + ")", "refused");
        }
        then();
      });
      xhr.addEventListener("error", function () {
        item.busy = false;
        setResult(item, zone.getAttribute("data-network-error"), "refused");
        then();
      });
      xhr.send(data);
    }

    function setResult(item, text, kind, url) {
      var result = item.querySelector(".drop-result");
      result.className = "drop-result" + (kind ? " " + kind : "");
      result.textContent = "";
      if (url) {
        var link = document.createElement("a");
        link.href = url;
        link.textContent = text || "";
        result.appendChild(link);
      } else {
        result.textContent = text || "";
      }
      item.setAttribute("data-state", kind || "pending");
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
