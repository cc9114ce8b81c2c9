// The postback mapping table: add rows, edit conditions, explain custom and legacy event names.
(function () {
  "use strict";
  const table = document.getElementById("mapping-table");
  const metaElement = document.getElementById("mapping-meta");
  if (!table || !metaElement) return;
  const meta = JSON.parse(metaElement.textContent);
  const standard = new Set(meta.standard);
  const CUSTOM = "Custom event: TikTok accepts it for reporting and audiences, but it cannot be used for campaign optimisation.";

  function explain(input) {
    const note = input.closest("td").querySelector("[data-warning-for]");
    if (!note) return;
    const name = input.value.trim();
    if (!name || standard.has(name)) {
      note.textContent = "";
    } else if (Object.prototype.hasOwnProperty.call(meta.legacy, name)) {
      const instead = meta.legacy[name] ? " Use " + meta.legacy[name] + " instead." : "";
      note.textContent = name + " is a legacy TikTok event name." + instead;
    } else {
      note.textContent = CUSTOM;
    }
  }

  function conditionRow(condition, disabled) {
    const row = document.createElement("div");
    row.className = "condition";
    const field = document.createElement("input");
    field.type = "text";
    field.placeholder = "value field, e.g. plan";
    field.value = condition.field || "";
    field.setAttribute("aria-label", "Field of the event value");
    field.dataset.part = "field";
    const op = document.createElement("select");
    op.setAttribute("aria-label", "Operator");
    op.dataset.part = "op";
    Object.keys(meta.operators).forEach(function (key) {
      const option = document.createElement("option");
      option.value = key;
      option.textContent = meta.operators[key];
      if (key === (condition.op || "eq")) option.selected = true;
      op.appendChild(option);
    });
    const value = document.createElement("input");
    value.type = "text";
    value.placeholder = "value";
    value.value = condition.value || "";
    value.setAttribute("aria-label", "Value to compare with");
    value.dataset.part = "value";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link remove-condition";
    remove.textContent = "×";
    remove.setAttribute("aria-label", "Remove condition");
    [field, op, value, remove].forEach(function (element) {
      element.disabled = disabled;
      row.appendChild(element);
    });
    return row;
  }

  function serialise(editor) {
    const hidden = editor.parentElement.querySelector("input.conditions-data");
    const conditions = Array.from(editor.querySelectorAll(".condition")).map(function (row) {
      return {
        field: row.querySelector("[data-part=field]").value.trim(),
        op: row.querySelector("[data-part=op]").value,
        value: row.querySelector("[data-part=value]").value.trim(),
      };
    });
    hidden.value = JSON.stringify(conditions);
  }

  function setUpEditor(editor) {
    const hidden = editor.parentElement.querySelector("input.conditions-data");
    const disabled = hidden.disabled;
    let conditions = [];
    try { conditions = JSON.parse(hidden.value || "[]"); } catch (error) { conditions = []; }
    const list = document.createElement("div");
    list.className = "condition-list";
    conditions.forEach(function (condition) { list.appendChild(conditionRow(condition, disabled)); });
    editor.appendChild(list);
    if (!disabled) {
      const add = document.createElement("button");
      add.type = "button";
      add.className = "link add-condition";
      add.textContent = "+ Condition";
      editor.appendChild(add);
      add.addEventListener("click", function () {
        const row = conditionRow({}, false);
        list.appendChild(row);
        row.querySelector("input").focus();
        serialise(editor);
      });
    }
    editor.addEventListener("input", function () { serialise(editor); });
    editor.addEventListener("change", function () { serialise(editor); });
    editor.addEventListener("click", function (event) {
      if (event.target.classList.contains("remove-condition")) {
        event.target.closest(".condition").remove();
        serialise(editor);
        if (window.signalboardMarkDirty) window.signalboardMarkDirty();
      }
    });
  }

  function setUpRow(row) {
    row.querySelectorAll(".conditions-editor").forEach(setUpEditor);
    const partnerEvent = row.querySelector("input[name$='-partner_event_name']");
    if (partnerEvent) {
      partnerEvent.addEventListener("input", function () { explain(partnerEvent); });
    }
  }

  table.querySelectorAll("tr.mapping-row").forEach(setUpRow);
  const addButton = document.getElementById("add-mapping-row");
  if (addButton) {
    addButton.addEventListener("click", function () {
      const row = window.signalboardAddFormsetRow("mapping", "mapping-row-template", "mapping-rows");
      const enabled = row.querySelector("input[name$='-is_enabled']");
      if (enabled) enabled.checked = true;
      setUpRow(row);
      document.getElementById("mapping-empty").hidden = true;
    });
  }
})();
