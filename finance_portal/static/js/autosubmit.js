// A <select data-autosubmit> submits its form when changed (a file, not an inline handler: the CSP forbids those).
document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
