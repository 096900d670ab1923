// A <form data-confirm="question"> asks the question before it is sent, and is not sent unless confirmed (a file,
// not an inline handler: the CSP forbids those). Without JavaScript the form is sent as it is.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
