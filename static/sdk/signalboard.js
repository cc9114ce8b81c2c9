/*! Signalboard web SDK: first-party attribution for websites. No dependencies.
 *
 *   <script src="https://YOUR-SIGNALBOARD/static/sdk/signalboard.js" data-key="pk_…"></script>
 *   signalboard.track("purchase", {revenue: 29.99, currency: "USD", event_id: "order-88412"});
 *
 * On a landing page it reads pid, c, af_* and ttclid from the URL, keeps a first-party web user
 * id and the click (cookie + localStorage, for the click lookback) and reports the visit. Events
 * carry the click's ttclid and the TikTok pixel's `_ttp` cookie when the page has one. Sends
 * go out one at a time, in order, with fetch keepalive; they wait in localStorage and are
 * retried with backoff when the network fails, and are handed to sendBeacon when the page is
 * hidden. Every send carries an id, so a repeat is stored once on the server.
 */
(function (window, document) {
  "use strict";

  var script = document.currentScript;
  if (!script || !window.fetch || !window.Promise) {
    return;
  }
  var KEY = script.getAttribute("data-key") || "";
  var ENDPOINT = (script.getAttribute("data-endpoint") || new URL(script.src, location.href).origin)
    .replace(/\/+$/, "");
  var BASE = ENDPOINT + "/api/v1/sdk/" + encodeURIComponent(KEY) + "/";
  var UID = "_sb_uid";
  var CLICK = "_sb_click";
  var QUEUE = "_sb_queue";
  var KNOWN = "_sb_known";
  var TTP = "_ttp";
  var CLICK_PARAMETER = /^(pid|c|af_[a-z0-9_]+|ttclid|clickid|sb_click|is_retargeting)$/;
  var ID_SHAPE = /^[A-Za-z0-9_-]{8,64}$/;
  var DAY = 86400000;
  var MAX_QUEUE = 100;
  var MAX_DELAY = 60000;

  function randomId() {
    if (window.crypto && crypto.getRandomValues) {
      var bytes = crypto.getRandomValues(new Uint8Array(16));
      return Array.prototype.map.call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      }).join("");
    }
    return (Date.now().toString(36) + Math.random().toString(36).slice(2)).slice(0, 32);
  }

  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function writeCookie(name, value, days) {
    document.cookie = name + "=" + encodeURIComponent(value) + "; max-age=" +
      Math.round(days * 86400) + "; path=/; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }

  function load(name) {
    try {
      return window.localStorage.getItem(name);
    } catch (e) {
      return null;
    }
  }

  function store(name, value) {
    try {
      window.localStorage.setItem(name, value);
    } catch (e) {
      /* storage full or blocked: the cookie still holds what matters */
    }
  }

  // Safari caps script-written cookies at 7 days; localStorage keeps the id when it expires.
  function webUserId() {
    var id = readCookie(UID) || load(UID);
    if (!id || !ID_SHAPE.test(id)) {
      id = randomId();
    }
    writeCookie(UID, id, 395);
    store(UID, id);
    return id;
  }

  function landingParameters() {
    var found = null;
    new URLSearchParams(location.search).forEach(function (value, name) {
      if (CLICK_PARAMETER.test(name)) {
        found = found || {};
        found[name] = value;
      }
    });
    return found;
  }

  function savedClick() {
    var raw = load(CLICK) || readCookie(CLICK);
    try {
      var click = JSON.parse(raw);
      return click && click.expires > Date.now() ? click : null;
    } catch (e) {
      return null;
    }
  }

  function saveClick(params, lookbackDays) {
    var click = JSON.stringify({params: params, at: Date.now(), expires: Date.now() + lookbackDays * DAY});
    store(CLICK, click);
    writeCookie(CLICK, click, lookbackDays);
  }

  // --- the send queue -------------------------------------------------------------------------
  var queue = readQueue();
  var waiters = {};
  var isSending = false;
  var retryTimer = null;

  function readQueue() {
    try {
      var items = JSON.parse(load(QUEUE));
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }

  function saveQueue() {
    queue = queue.slice(-MAX_QUEUE);
    store(QUEUE, JSON.stringify(queue));
  }

  function enqueue(path, body) {
    var item = {id: randomId(), path: path, body: body, attempts: 0};
    var promise = new Promise(function (resolve, reject) {
      waiters[item.id] = {resolve: resolve, reject: reject};
    });
    queue.push(item);
    saveQueue();
    pump();
    return promise;
  }

  function finish(item, isOk, data) {
    queue = queue.filter(function (queued) {
      return queued.id !== item.id;
    });
    saveQueue();
    var waiter = waiters[item.id];
    delete waiters[item.id];
    if (waiter && isOk) {
      waiter.resolve(data);
    } else if (waiter) {
      var error = new Error((data && data.detail) || "Signalboard refused the data");
      error.response = data;
      waiter.reject(error);
    } else if (!isOk && window.console) {
      console.warn("Signalboard refused a queued send", data);
    }
  }

  function retryLater(item, retryAfterSeconds) {
    item.attempts += 1;
    saveQueue();
    var delay = retryAfterSeconds > 0 ? retryAfterSeconds * 1000
      : Math.min(MAX_DELAY, 1000 * Math.pow(2, item.attempts - 1));
    retryTimer = setTimeout(function () {
      retryTimer = null;
      pump();
    }, delay);
  }

  function post(item) {
    return fetch(BASE + item.path, {
      method: "POST",
      // text/plain keeps the request "simple": no CORS preflight, and keepalive allowed.
      headers: {"Content-Type": "text/plain;charset=UTF-8"},
      body: JSON.stringify(item.body),
      keepalive: true,
      credentials: "omit",
      mode: "cors"
    });
  }

  function pump() {
    if (isSending || retryTimer || !queue.length) {
      return;
    }
    var item = queue[0];
    isSending = true;
    post(item).then(function (response) {
      if (response.status >= 500 || response.status === 429) {
        isSending = false;
        retryLater(item, parseInt(response.headers.get("Retry-After"), 10));
        return;
      }
      return response.json().catch(function () {
        return {};
      }).then(function (data) {
        isSending = false;
        finish(item, response.ok, data);
        pump();
      });
    }, function () {
      isSending = false;  // offline or the server is unreachable: keep it and try again
      retryLater(item, 0);
    });
  }

  // The page is going away: hand whatever waits to the browser. The items stay queued and go
  // out again on the next page; the server acknowledges those repeats as duplicates.
  function flushWithBeacon() {
    if (!navigator.sendBeacon) {
      return;
    }
    queue.forEach(function (item) {
      var blob = new Blob([JSON.stringify(item.body)], {type: "text/plain;charset=UTF-8"});
      navigator.sendBeacon(BASE + item.path, blob);
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      flushWithBeacon();
    }
  });
  window.addEventListener("pagehide", flushWithBeacon);
  window.addEventListener("online", function () {
    if (retryTimer) {
      clearTimeout(retryTimer);
      retryTimer = null;
    }
    pump();
  });

  // --- what a page calls ----------------------------------------------------------------------
  var uid = webUserId();

  function reportVisit() {
    var params = landingParameters();
    if (!params && load(KNOWN)) {
      return Promise.resolve(null);  // a known visitor without a new click: nothing to report
    }
    if (params) {
      saveClick(params, 7);
    }
    return enqueue("visit", {
      web_user_id: uid,
      visit_id: randomId(),
      params: params || {},
      url: location.href,
      referrer: document.referrer
    }).then(function (result) {
      store(KNOWN, "1");
      if (params && result && result.click_lookback_days) {
        saveClick(params, result.click_lookback_days);
      }
      return result;
    });
  }

  function track(name, properties) {
    var props = properties || {};
    var event = {
      event_name: name,
      event_id: props.event_id || randomId(),
      event_time: Date.now(),
      web_user_id: uid,
      url: location.href,
      referrer: document.referrer
    };
    ["value", "revenue", "currency", "email", "phone", "customer_user_id"].forEach(function (key) {
      if (props[key] !== undefined && props[key] !== null) {
        event[key] = props[key];
      }
    });
    var click = savedClick();
    var clickId = click && (click.params.ttclid || click.params.clickid);
    if (clickId) {
      event.ttclid = clickId;
    }
    // The TikTok pixel's first-party cookie: TikTok matches (and de-duplicates) on it.
    var ttp = readCookie(TTP);
    if (ttp) {
      event.ttp = ttp.slice(0, 255);
    }
    return enqueue("events", event);
  }

  var earlyCalls = Array.isArray(window.signalboard) ? window.signalboard : [];
  var visit = reportVisit();
  window.signalboard = {
    track: track,
    visit: visit,
    webUserId: function () {
      return uid;
    }
  };
  earlyCalls.forEach(function (call) {
    if (call && call[0] === "track") {
      track(call[1], call[2]);
    }
  });
  pump();
}(window, document));
