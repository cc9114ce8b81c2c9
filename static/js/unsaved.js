// Warn before leaving a form with unsaved changes (forms marked data-warn-unsaved).
(function () {
  "use strict";
  const forms = document.querySelectorAll("form[data-warn-unsaved]");
  let dirty = false;
  let submitting = false;
  function markDirty() {
    dirty = true;
    const note = document.getElementById("unsaved-note");
    if (note) note.hidden = false;
  }
  forms.forEach(function (form) {
    // A page re-shown with changes not yet saved (e.g. default rows just loaded) starts dirty.
    if (form.hasAttribute("data-start-dirty")) markDirty();
    form.addEventListener("input", markDirty);
    form.addEventListener("change", markDirty);
    form.addEventListener("submit", function () { submitting = true; });
  });
  // Buttons outside the form they submit (e.g. the Cost tab's "Save cost") leave on purpose.
  document.querySelectorAll("button[form]").forEach(function (button) {
    button.addEventListener("click", function () { submitting = true; });
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty && !submitting) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  window.signalboardMarkDirty = markDirty;
})();
