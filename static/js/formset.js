// Shared helper: add a row to a Django formset from its <template>, renumbering __prefix__.
window.signalboardAddFormsetRow = function (prefix, templateId, tbodyId) {
  "use strict";
  const total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  const template = document.getElementById(templateId);
  const tbody = document.getElementById(tbodyId);
  const index = parseInt(total.value, 10);
  const html = template.innerHTML.replace(/__prefix__/g, String(index));
  tbody.insertAdjacentHTML("beforeend", html);
  total.value = String(index + 1);
  const row = tbody.lastElementChild;
  const first = row.querySelector("input:not([type=hidden]), select");
  if (first) first.focus();
  if (window.signalboardMarkDirty) window.signalboardMarkDirty();
  return row;
};

// Rows marked for removal are struck through; the server deletes them on save.
document.addEventListener("change", function (event) {
  "use strict";
  const box = event.target;
  if (box.type === "checkbox" && /-DELETE$/.test(box.name)) {
    const row = box.closest("tr");
    if (row) row.classList.toggle("is-removed", box.checked);
  }
});
