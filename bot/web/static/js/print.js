// The print button of the preparation sheet (no inline scripts: CSP).
(function () {
  "use strict";
  var button = document.getElementById("print-knop");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
})();
