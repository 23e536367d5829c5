// The step page: each field is saved on the server the moment it is entered (TIME-03), one request per field.
// A keyboard-wedge scanner types the code and Enter: Enter in a barcode field saves it and moves to the next field.
// Without this script every field is a plain form with its own Save button, answered with a flash message.
// A device-bound field's Capture button reads the instance in use on the server; typing over it stays the override.
// CSP (default-src 'self'): a same-origin file, no inline code; the CSRF token comes from each field's own form.
(function () {
  "use strict";
  // The label page's Print button: hidden without this script, which is the only way to reach window.print().
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
}());

(function () {
  "use strict";
  var page = document.getElementById("step");
  if (!page || !window.fetch) { return; }
  var forms = Array.prototype.slice.call(page.querySelectorAll("form.entry[data-api]"));
  var saved = new WeakMap(); // form -> the body last stored: a blur after Enter does not send it again
  var sending = new WeakMap(); // form -> [body, promise] of the request in flight
  page.classList.add("js");

  function part(form, selector) { return form.querySelector(selector); }
  function valueOf(form, selector) { var input = part(form, selector); return input ? input.value : null; }

  function show(form, kind, message) {
    var out = part(form, ".entry-status");
    out.textContent = message;
    out.className = "entry-status " + kind;
  }

  function alertPage(message) {
    var box = document.getElementById("step-alert");
    box.textContent = message + " ";
    var reload = document.createElement("a");
    reload.href = window.location.pathname;
    reload.textContent = "Reload the step";
    box.appendChild(reload);
    box.hidden = false;
  }

  function bodyOf(form, confirmed) {
    var box = part(form, "input[name=confirmed]");
    return {
      field: form.dataset.field,
      value: valueOf(form, "[name=value]"),
      unit: valueOf(form, "input[name=unit]") || "",
      confirmed: Boolean(confirmed || (box && box.checked)),
      repeat: valueOf(form, "input[name=repeat]"),
      override_reason: valueOf(form, "input[name=override_reason]") || "",
      change_reason: valueOf(form, "input[name=change_reason]") || "",
      transcribed: Boolean(part(form, "input[name=transcribed]") && part(form, "input[name=transcribed]").checked),
      paper_form: valueOf(form, "input[name=paper_form]") || ""
    };
  }

  function shown(answer) {
    if (answer.value === null) { return "(empty)"; }
    if (answer.value === "true") { return "yes"; }
    if (answer.value === "false") { return "no"; }
    return (answer.value + " " + (answer.unit || "")).trim();
  }

  function refreshCalculated() {
    var outputs = page.querySelectorAll("[data-calculated]");
    if (!outputs.length) { return; }
    fetch(page.dataset.calculatedUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (values) {
        if (!values) { return; }
        outputs.forEach(function (out) {
          if (Object.prototype.hasOwnProperty.call(values, out.dataset.calculated)) {
            out.textContent = values[out.dataset.calculated];
          }
        });
      })
      .catch(function () { /* the values shown stay; the server recomputes them at signing anyway */ });
  }

  function answered(form, status, answer, body) {
    var confirm = part(form, "button.confirm");
    if (confirm) { confirm.hidden = true; }
    if (status === 200) {
      saved.set(form, body);
      show(form, "saved", answer.message);
      part(form, ".current-value").textContent = shown(answer);
      refreshCalculated();
      return true;
    }
    saved.delete(form);
    if (status === 409 && answer.confirm && confirm) {
      show(form, "warning", answer.message);
      confirm.hidden = false;
      return false;
    }
    if (answer.error === "ScanRefused") {  // recorded with its reason; the next scan replaces it
      show(form, "error", "Refused: " + answer.message);
      return false;
    }
    show(form, "error", "Not saved: " + (answer.message || answer.error || "the server answered " + status + "."));
    if (status === 409 || status === 401) { alertPage(answer.message || "This step changed meanwhile."); }
    return false;
  }

  function send(form, url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": part(form, "input[name=csrf_token]").value
      },
      body: body
    });
  }

  function captured(form, status, answer) {
    if (status === 200) {
      show(form, "saved", answer.message);
      part(form, ".current-value").textContent = shown(answer);
      refreshCalculated();
      return;
    }
    if (status === 503) {  // the device failed, not the request: the same capture may be tried again
      show(form, "error", "Not captured (" + (answer.kind || "device fault") + "): " + answer.message);
      return;
    }
    show(form, "error", "Not captured: " + (answer.message || answer.error || "the server answered " + status + "."));
    if (status === 401) { alertPage(answer.message || "Your session ended."); }
  }

  function capture(form, button) {
    if (button.disabled) { return; }
    button.disabled = true;  // one read at a time: a second press would only read the device again
    show(form, "busy", "Reading the device…");
    var body = JSON.stringify({ field: form.dataset.field, equipment: button.value || "" });
    send(form, button.dataset.api, body).then(function (response) {
      return response.json()
        .catch(function () { return { message: "the server answered " + response.status + "." }; })
        .then(function (answer) { captured(form, response.status, answer); });
    }).catch(function () {
      show(form, "error", "Not captured: the server could not be reached. Check the network and capture again.");
    }).then(function () { button.disabled = false; });
  }

  function post(form, body) {
    show(form, "busy", "Saving…");
    return send(form, form.dataset.api, body).then(function (response) {
      return response.json()
        .catch(function () { return { message: "the server answered " + response.status + "." }; })
        .then(function (answer) { return answered(form, response.status, answer, body); });
    }).catch(function () {
      show(form, "error", "Not saved: the server could not be reached. Check the network and save again.");
      return false;
    });
  }

  function save(form, confirmed) {
    var data = bodyOf(form, confirmed);
    if (data.repeat !== null && data.value.trim() !== "" && data.repeat.trim() === "") {
      // A double-entry field is sent with its second entry, never without it (DEV-04).
      show(form, "pending", "Enter the value a second time to confirm it.");
      return Promise.resolve(false);
    }
    var body = JSON.stringify(data);
    if (saved.get(form) === body) { return Promise.resolve(true); }
    var inFlight = sending.get(form);
    if (inFlight && inFlight[0] === body) { return inFlight[1]; }
    var request = post(form, body);
    sending.set(form, [body, request]);
    return request;
  }

  function focusNext(index) {
    var next = forms[index + 1];
    var target = next ? part(next, "[name=value]") : document.getElementById("sign-performed");
    if (target) { target.focus(); }
  }

  forms.forEach(function (form, index) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = event.submitter;
      if (button && button.classList.contains("capture")) { capture(form, button); } else { save(form, false); }
    });
    form.addEventListener("change", function (event) {
      if (event.target.type === "checkbox") { return; }
      save(form, false);
    });
    var confirm = part(form, "button.confirm");
    if (confirm) { confirm.addEventListener("click", function () { save(form, true); }); }
    var scan = part(form, "input.barcode");
    if (scan) {
      scan.addEventListener("keydown", function (event) {
        if (event.key !== "Enter") { return; }
        event.preventDefault(); // the scanner's Enter saves this field only
        save(form, false).then(function (ok) {
          if (ok) { focusNext(index); } else { scan.select(); } // a failed scan is replaced by the next one
        });
      });
    }
  });

  var first = page.querySelector("input.barcode[autofocus]");
  if (first) { first.focus(); }
}());
