// MIMS portal: small enhancements only. Every page works without this file.
(function () {
  "use strict";

  function count(text, test) {
    var n = 0;
    for (var ch of text) { if (test(ch)) { n += 1; } }
    return n;
  }
  var isDigit = function (ch) { return /\p{Nd}/u.test(ch); };
  var isLower = function (ch) { return /\p{Ll}/u.test(ch); };
  var isUpper = function (ch) { return /\p{Lu}/u.test(ch); };
  var isLetter = function (ch) { return /\p{L}/u.test(ch); };

  function met(rule, text) {
    var value = Number(rule.dataset.value);
    var length = Array.from(text.normalize("NFC")).length;
    switch (rule.dataset.kind) {
      case "length": return length >= value && length <= Number(rule.dataset.maximum);
      case "digits": return count(text, isDigit) >= value;
      case "lower": return count(text, isLower) >= value;
      case "upper": return count(text, isUpper) >= value;
      case "letters": return count(text, isLetter) >= value;
      default: return null; // checked by the portal when the form is sent
    }
  }

  // The checklist ticks as you type.
  document.querySelectorAll("input[data-checklist]").forEach(function (input) {
    var list = document.getElementById(input.dataset.checklist);
    if (!list) { return; }
    var update = function () {
      list.querySelectorAll("li").forEach(function (rule) {
        var ok = met(rule, input.value);
        if (ok === null) { return; }
        rule.classList.toggle("met", ok);
        rule.querySelector(".sr-state").textContent = ok ? " (done)" : "";
      });
    };
    input.addEventListener("input", update);
    update();
  });

  // "Show what I typed" for the new-password boxes.
  var show = document.querySelector("[data-show-passwords]");
  if (show) {
    show.hidden = false;
    document.querySelector("[data-show-label]").hidden = false;
    show.addEventListener("change", function () {
      document.querySelectorAll("#new_password, #new_password_again").forEach(function (box) {
        box.type = show.checked ? "text" : "password";
      });
    });
  }

  // After a refusal, move focus to the message so screen readers read it first.
  var alert = document.querySelector("[data-focus-first]");
  if (alert) { alert.focus(); }
})();
