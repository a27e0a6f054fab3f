// Waits for news from the server: a phone has paired, or has answered a push.
// Each request is held open by the server until something happens (or about 25 s
// pass) and the next one starts at once, so the page moves on the moment the phone
// acts; there is no polling timer. Only after a network error does it pause, longer
// each time. Without JavaScript the page's own button does the same check, and the page
// says so; the text that the page moves on by itself is shown only once this waits.
(function () {
  "use strict";
  var element = document.querySelector("[data-pocket-wait]");
  if (!element || !window.fetch) {
    return;
  }
  var url = element.getAttribute("data-pocket-wait");
  var notes = document.querySelectorAll("[data-pocket-waiting]");
  for (var i = 0; i < notes.length; i += 1) {
    notes[i].hidden = false;
  }
  var failures = 0;
  // a button of the page was pressed (Stop, Send again): its answer decides where the
  // page goes, and what it does may end the wait at the same moment
  var leaving = false;
  document.addEventListener("submit", function () {
    leaving = true;
  });

  function ask() {
    if (leaving) {
      return;
    }
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (answer) {
        failures = 0;
        if (leaving) {
          return;
        }
        if (answer.done) {
          // "remember this browser" ticked: the page's form carries the choice on
          var remember = document.getElementById("remember-browser");
          var check = document.getElementById("push-check");
          if (remember && remember.checked && check) {
            check.click();
            return;
          }
          window.location.replace(answer.next);
        } else {
          ask();
        }
      })
      .catch(function () {
        failures += 1;
        window.setTimeout(ask, Math.min(30000, 250 * Math.pow(2, failures)));
      });
  }

  ask();
})();
