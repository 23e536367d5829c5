// Draws the version's BPMN with bpmn-js, served by the app itself (plants run offline).
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || typeof window.BpmnJS === "undefined") { return; }
  var viewer = new window.BpmnJS({ container: box });
  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () { viewer.get("canvas").zoom("fit-viewport"); box.classList.add("rendered"); })
    .catch(function (err) { box.textContent = "The diagram could not be drawn: " + err.message; });
}());
