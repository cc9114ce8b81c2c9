// Attribution link tab: add parameters and show the resulting URL as you type.
(function () {
  "use strict";
  const output = document.querySelector("[data-live-url]");
  const base = document.getElementById("id_link_base_url");
  const rows = document.getElementById("param-rows");

  function encode(text) {
    // Keep TikTok's __MACROS__ readable: underscores stay, the rest is percent-encoded.
    return encodeURIComponent(text).replace(/%5F/gi, "_");
  }

  function refresh() {
    if (!output || !base) return;
    const pairs = Array.from(rows.querySelectorAll("tr.param-row"))
      .filter(function (row) {
        const remove = row.querySelector("input[name$='-DELETE']");
        return !(remove && remove.checked);
      })
      .map(function (row) {
        const key = row.querySelector("input[name$='-key']").value.trim();
        const value = row.querySelector("input[name$='-value']").value.trim();
        return key ? encode(key) + "=" + encode(value) : "";
      })
      .filter(Boolean);
    const url = base.value.trim();
    const separator = url.indexOf("?") === -1 ? "?" : "&";
    output.textContent = url + (pairs.length ? separator + pairs.join("&") : "");
  }

  document.getElementById("link-form").addEventListener("input", refresh);
  document.getElementById("link-form").addEventListener("change", refresh);
  const add = document.getElementById("add-param-row");
  if (add) {
    add.addEventListener("click", function () {
      window.signalboardAddFormsetRow("param", "param-row-template", "param-rows");
      refresh();
    });
  }

  // Website or app via store: show the chosen destination's cards (without JavaScript, both
  // show, and both links work).
  const choices = document.querySelectorAll("input[data-destination]");
  function showDestination() {
    const chosen = document.querySelector("input[data-destination]:checked");
    document.querySelectorAll("[data-destination-panel]").forEach(function (panel) {
      panel.hidden = chosen && panel.getAttribute("data-destination-panel") !== chosen.value;
    });
  }
  choices.forEach(function (choice) { choice.addEventListener("change", showDestination); });
  if (choices.length) showDestination();
})();
