// Cost tab: refresh while a pull runs, and confirm before deleting a connection.
(function () {
  "use strict";
  if (document.querySelector("[data-refresh-while-pulling]")) {
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });
})();
