// The demo shop's own script: shows what the SDK reported and sends a purchase on "Buy now".
(function () {
  "use strict";
  var visitStatus = document.getElementById("visit-status");
  var orderStatus = document.getElementById("order-status");
  var buy = document.getElementById("buy");

  window.signalboard.visit.then(function (result) {
    if (!result) {
      visitStatus.textContent = "Welcome back: your first visit is already recorded.";
      return;
    }
    var attribution = result.install.attribution;
    visitStatus.textContent = "Visit recorded: attributed to " + attribution.media_source +
      (attribution.campaign ? " (" + attribution.campaign + ")" : "") + ".";
  }, function (error) {
    visitStatus.textContent = "The visit was not recorded: " + error.message;
  });

  buy.addEventListener("click", function () {
    buy.disabled = true;
    orderStatus.textContent = "Sending your order…";
    window.signalboard.track("purchase", {
      revenue: 29.99,
      currency: "USD",
      email: document.getElementById("email").value,
      value: {content_id: "SKU-1077", num_items: 2}
    }).then(function (result) {
      orderStatus.textContent = "Order recorded (event " + result.event_id + "), attributed to " +
        (result.media_source || "an earlier visit") + ".";
    }, function (error) {
      orderStatus.textContent = "The order was not recorded: " + error.message;
    }).then(function () {
      buy.disabled = false;
    });
  });
}());
