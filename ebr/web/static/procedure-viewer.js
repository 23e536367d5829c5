// Draws the version's BPMN with bpmn-js, served by the app itself (plants run offline).
// CSP (default-src 'self'): this file and bpmn-js are same-origin scripts; bpmn-js styles its elements through the
// CSSOM (element.style) and SVG presentation attributes, which the policy allows, never through inline markup.
(function () {
  "use strict";
  var PADDING = 0.03; // share of the fitted view left free on each side, so shapes never touch the border
  var box = document.getElementById("diagram");
  if (!box || typeof window.BpmnJS === "undefined") { return; }
  var viewer = new window.BpmnJS({ container: box });

  function fit() {
    var canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport", "auto"); // the whole process, centred
    var view = canvas.viewbox();
    canvas.viewbox({
      x: view.x - view.width * PADDING,
      y: view.y - view.height * PADDING,
      width: view.width * (1 + 2 * PADDING),
      height: view.height * (1 + 2 * PADDING)
    });
  }

  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () { fit(); box.classList.add("rendered"); })
    .catch(function (err) {
      box.classList.add("failed");
      box.textContent = "The diagram could not be drawn: " + err.message;
    });
}());
