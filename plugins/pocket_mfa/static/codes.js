// The copy button of a page with new recovery codes: it puts the codes, one a line, on
// the clipboard and says so. It shows only where the browser offers the clipboard;
// without JavaScript the page still has the download link and the codes themselves.
(function () {
  "use strict";
  var button = document.getElementById("copy-codes");
  var status = document.getElementById("copy-status");
  if (!button || !status || !navigator.clipboard || !window.isSecureContext) {
    return;
  }
  var codes = Array.prototype.map.call(
    document.querySelectorAll("#recovery-codes code"),
    function (code) {
      return code.textContent.trim();
    }
  );
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(codes.join("\n") + "\n").then(
      function () {
        status.textContent = button.getAttribute("data-copied");
      },
      function () {
        status.textContent = button.getAttribute("data-failed");
      }
    );
  });
})();
