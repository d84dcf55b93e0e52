/* ringtrack DNI: each visit sees its own tracking number; forms are reported. Never throws. */
(function () {
  "use strict";
  try {
    var me = document.currentScript, pool = me && me.getAttribute("data-pool");
    if (!pool || !window.fetch || !window.JSON) return;
    var base = me.src.replace(/\/dni\.js([?#].*)?$/, ""), ls = window.localStorage;
    var get = function (k) { try { return ls.getItem(k); } catch (e) { return null; } };
    var put = function (k, v) { try { ls.setItem(k, v); } catch (e) {} };
    var vid = get("rt_vid");
    if (!vid) {
      vid = window.crypto && crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random().toString(36).slice(2);
      put("rt_vid", vid);
    }
    // `olds`: the numbers to replace (the target, and any number shown before); `to`: the one shown.
    var skey = "rt_sid_" + pool, sid = get(skey), olds = [], to = null;
    var digits = function (s) { return String(s || "").replace(/\D/g, "").replace(/^1(?=\d{10}$)/, ""); };

    var post = function (path, body) {
      return fetch(base + path, {
        method: "POST", body: JSON.stringify(body), credentials: "omit", keepalive: true,
        headers: { "Content-Type": "text/plain" }
      }).then(function (r) { return r.ok && r.status !== 204 ? r.json() : null; });
    };

    // The target number written any common US way: (573) 555-1234, 573-555-1234,
    // 573.555.1234, +1 573 555 1234, 5735551234 — with typographic separators too (no-break
    // and thin spaces, no-break hyphens, en and em dashes, minus, "573. 555. 1234").
    var pattern = function (d) {
      var s = "[\\s.\\-\\u2010-\\u2015\\u2212]{0,3}";
      return new RegExp("(^|[^\\d])((?:\\+?1" + s + ")?\\(?" + d.slice(0, 3) + "\\)?" + s + d.slice(3, 6) + s + d.slice(6) + ")(?!\\d)", "g");
    };
    // Writes the new number the way the old one was written: digit for digit.
    var respell = function (text) {
      var i = 0, skip = digits(text).length < text.replace(/\D/g, "").length;
      return text.replace(/\d/g, function (c) {
        if (skip) { skip = false; return c; }
        return to.charAt(i++) || c;
      });
    };
    var swapText = function (text) {
      var out = text;
      olds.forEach(function (d) {
        out = out.replace(pattern(d), function (m, pre, num) { return pre + respell(num); });
      });
      return out === text ? null : out;
    };
    // Never inside what the visitor types or what is shown as code.
    var skipTags = { SCRIPT: 1, STYLE: 1, TEXTAREA: 1, NOSCRIPT: 1, CODE: 1 };
    var skipped = function (el) { return !el || skipTags[el.nodeName] || el.isContentEditable; };
    // Attributes people click or read, and schema.org's telephone.
    var attrs = ["title", "aria-label", "data-phone", "onclick", "content"];
    var swapAttrs = function (el) {
      attrs.forEach(function (name) {
        var v = el.getAttribute(name), t = v && swapText(v);
        if (t) el.setAttribute(name, t);
      });
    };
    // Writes `v` (as long as the node's text: respelling keeps lengths) over only the
    // characters that differ, so the visitor's selection elsewhere in the node stays put.
    var write = function (node, v) {
      var old = node.nodeValue, a = 0, b = old.length;
      while (a < b && old.charAt(a) === v.charAt(a)) a++;
      while (b > a && old.charAt(b - 1) === v.charAt(b - 1)) b--;
      if (a < b) node.replaceData(a, b - a, v.slice(a, b));
    };
    // Respells the numbers in `el`'s whole text and gives each text node its part back
    // (respelling keeps every length, so each node's span of the text is unchanged).
    var swapSplit = function (el) {
      var parts = [], all = "", w = document.createTreeWalker(el, 4, null), n;
      while ((n = w.nextNode())) { parts.push([n, all.length]); all += n.nodeValue; }
      var changed = swapText(all);
      if (changed === null) return;
      parts.forEach(function (p) {
        var v = changed.substr(p[1], p[0].nodeValue.length);
        if (!skipped(p[0].parentNode)) write(p[0], v);
      });
    };
    var swap = function (root) {
      if (!to || !root) return;
      if (root.nodeType === 3) {
        var t = swapText(root.nodeValue);
        if (t !== null && !skipped(root.parentNode)) write(root, t);
        return;
      }
      if (root.nodeType !== 1 && root.nodeType !== 9) return;
      var walker = document.createTreeWalker(root, 4, null), node, nodes = [];
      while ((node = walker.nextNode())) nodes.push(node);
      nodes.forEach(swap);
      // A number split across elements for styling — <span>(573)</span> 555-0100 — is
      // found in a small ancestor's text and respelled node by node.
      var done = [];
      nodes.forEach(function (t) {
        if (!/\d/.test(t.nodeValue)) return;
        for (var p = t.parentNode, k = 0; p && p.nodeType === 1 && k < 3 && done.indexOf(p) < 0; p = p.parentNode, k++) {
          if (p.childElementCount > 12 || skipped(p)) return;
          var text = p.textContent;
          if (text.length > 300) return;
          if (olds.some(function (d) { return pattern(d).test(text); })) { done.push(p); swapSplit(p); return; }
        }
      });
      var marked = root.querySelectorAll ? root.querySelectorAll("[title],[aria-label],[data-phone],[onclick],meta[content]") : [];
      if (root.nodeType === 1) swapAttrs(root);
      [].forEach.call(marked, swapAttrs);
      var links = root.querySelectorAll ? root.querySelectorAll("a[href^='tel:']") : [];
      if (root.nodeName === "A") links = [root].concat([].slice.call(links));
      [].forEach.call(links, function (a) {
        var href = a.getAttribute("href") || "";
        if (href.indexOf("tel:") === 0 && olds.indexOf(digits(href)) >= 0) a.setAttribute("href", "tel:" + respell(href.slice(4)));
      });
    };
    var show = function (lease) {
      if (!lease || !lease.number || !lease.target) return;
      if (lease.session_id) { sid = lease.session_id; put(skey, sid); }
      var next = digits(lease.number), target = digits(lease.target);
      [target, to].forEach(function (d) { if (d && d !== next && olds.indexOf(d) < 0) olds.push(d); });
      olds = olds.filter(function (d) { return d !== next; });
      to = next;
      swap(document.body);
    };

    // Once per page view (and per route of a single-page app), once the swap has settled:
    // whether the target can still be read on the page, so its owner sees where we miss.
    var reported = "";
    var report = function () {
      var here = location.href.split(/[?#]/)[0], text = document.body.innerText || "";
      if (!to || reported === here) return;
      reported = here;
      var visible = olds.some(function (d) { return pattern(d).test(text); });
      post("/dni/v1/pages", { pool_id: pool, url: location.href, target_visible: visible }).then(null, function () {});
    };
    var later = function () { setTimeout(function () { try { report(); } catch (e) {} }, 2000); };
    ["pushState", "replaceState"].forEach(function (m) {
      var original = history[m];
      if (typeof original === "function") {
        history[m] = function () { var r = original.apply(this, arguments); later(); return r; };
      }
    });
    window.addEventListener("popstate", later);

    var start = function () {
      post("/dni/v1/sessions", {
        pool_id: pool, visitor_id: vid, session_id: sid, landing_page: location.href,
        referrer: document.referrer || null
      }).then(function (lease) { show(lease); later(); }, function () {});
      if (window.MutationObserver) {
        new MutationObserver(function (changes) {
          try {
            changes.forEach(function (c) {
              if (c.type === "characterData") swap(c.target);
              else [].forEach.call(c.addedNodes, swap);
            });
          } catch (e) {}
        }).observe(document.body, { childList: true, subtree: true, characterData: true });
      }
      setInterval(function () {
        if (sid && document.visibilityState !== "hidden") {
          post("/dni/v1/sessions/" + encodeURIComponent(sid) + "/heartbeat", {}).then(function (l) {
            if (l && l.number && digits(l.number) !== to) show(l);
          }, function () {});
        }
      }, 30000);
    };

    // Forms are read as submitted, never blocked or changed. Never kept: secrets by their
    // field's name (as the server decides too), card and social-security numbers in any value.
    var secretWord = /^(pin|pwd|pw|ssn|sin|cvv2?|cvc2?|csc|otp|totp|mfa|2fa|iban|aba)$/;
    var secretPart = /pass|secret|token|apikey|card|ccnum|ccno|ccexp|securitycode|verificationcode|authcode|accountnumber|accountno|acctnum|acctno|routingnumber|routingno|sortcode|socialsecurity/;
    var secretName = function (name) {
      var words = String(name).replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
      return words.some(function (w) { return secretWord.test(w); }) || secretPart.test(words.join(""));
    };
    var luhn = function (d) {
      for (var i = 0, sum = 0; i < d.length; i++) {
        var n = +d.charAt(d.length - 1 - i);
        if (i % 2) n = n * 2 > 9 ? n * 2 - 9 : n * 2;
        sum += n;
      }
      return sum % 10 === 0;
    };
    var redact = function (value) {
      return value.replace(/\d(?:[ \-.\/\u00a0\u2009\u2011\u2013]?\d)*/g, function (run) {
        var d = run.replace(/\D/g, "");
        var card = d.length >= 13 && d.length <= 19 && luhn(d) && !/^(\d)\1*$/.test(d);
        return card || /^\d{3}[ -]\d{2}[ -]\d{4}$/.test(run) ? "[redacted]" : run;
      });
    };
    document.addEventListener("submit", function (e) {
      try {
        var form = e.target, fields = {}, n = 0;
        [].forEach.call(form.elements || [], function (el) {
          var key = el.name || el.id, type = (el.type || "").toLowerCase();
          if (!key || n >= 50 || type === "password" || type === "file" || type === "submit" || type === "button") return;
          if ((type === "checkbox" || type === "radio") && !el.checked) return;
          if (secretName(key)) return;
          fields[key] = redact(String(el.value || "")).slice(0, 2000);
          n++;
        });
        var body = JSON.stringify({
          pool_id: pool, session_id: sid, visitor_id: vid, page_url: location.href,
          form_name: form.getAttribute("name") || form.id || null, fields: fields
        });
        var url = base + "/dni/v1/forms";
        if (!(navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" })))) {
          fetch(url, { method: "POST", body: body, keepalive: true, credentials: "omit", headers: { "Content-Type": "text/plain" } });
        }
      } catch (x) {}
    }, true);

    if (document.body) start();
    else document.addEventListener("DOMContentLoaded", start);
  } catch (e) {}
})();
