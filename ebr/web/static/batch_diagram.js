// Draws the batch's procedure with bpmn-js (served by the app itself) and colours its progress: steps done,
// current (ready or awaiting verification) and pending. A step inside a called sub-procedure colours the call
// activity that runs it: current if any of its steps is current, otherwise done if any is done.
// CSP (default-src 'self'): same-origin scripts only; the colours are CSS classes added with canvas.addMarker.
(function () {
  "use strict";
  var PADDING = 0.03; // share of the fitted view left free on each side, so shapes never touch the border
  var STEP_TYPES = { "bpmn:UserTask": true, "bpmn:CallActivity": true };
  var box = document.getElementById("diagram");
  if (!box || typeof window.BpmnJS === "undefined") { return; }
  var progress = JSON.parse(box.dataset.progress || "{}");
  var viewer = new window.BpmnJS({ container: box });

  function setOf(list) {
    var set = {};
    (list || []).forEach(function (id) { set[id] = true; });
    return set;
  }

  var done = setOf(progress.done);
  var current = setOf(progress.current);
  var processOf = progress.process_of || {};

  function stateOf(element) {
    if (current[element.id]) { return "current"; }
    if (done[element.id]) { return "done"; }
    if (element.type === "bpmn:CallActivity") {
      var called = element.businessObject.calledElement;
      var inside = Object.keys(processOf).filter(function (step) { return processOf[step] === called; });
      if (inside.some(function (step) { return current[step]; })) { return "current"; }
      if (inside.some(function (step) { return done[step]; })) { return "done"; }
    }
    return "pending";
  }

  function colour() {
    var canvas = viewer.get("canvas");
    viewer.get("elementRegistry")
      .filter(function (element) { return STEP_TYPES[element.type] === true; })
      .forEach(function (element) { canvas.addMarker(element.id, "step-" + stateOf(element)); });
  }

  function fit() {
    var canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport", "auto");
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
    .then(function () { colour(); fit(); box.classList.add("rendered"); })
    .catch(function (err) {
      box.classList.add("failed");
      box.textContent = "The diagram could not be drawn: " + err.message;
    });
}());
