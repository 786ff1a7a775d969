// Progressive enhancement only: every page works without this script.
document.addEventListener("DOMContentLoaded", function () {
  // After a failed submission, move keyboard and screen-reader focus to the error summary
  // (GOV.UK pattern), so the problems are announced and one Tab away from the first field.
  var summary = document.querySelector(".error-summary[role=alert]");
  if (summary) {
    summary.focus();
  }

  // Character limits: say how many characters are left while typing. The server checks the
  // limit; the text is never cut off.
  document.querySelectorAll("textarea[data-max-chars]").forEach(function (area) {
    var max = parseInt(area.getAttribute("data-max-chars"), 10);
    var note = document.getElementById(area.id + "-limit");
    if (!note || !max) {
      return;
    }
    var live = document.createElement("span");
    live.className = "visually-hidden";
    live.setAttribute("aria-live", "polite");
    note.parentNode.insertBefore(live, note.nextSibling);
    var timer;
    function update() {
      var left = max - area.value.length;
      var text = left >= 0
        ? "Noch " + left.toLocaleString("de-DE") + " von " + max.toLocaleString("de-DE") + " Zeichen."
        : (-left).toLocaleString("de-DE") + " Zeichen zu viel (höchstens " + max.toLocaleString("de-DE") + ").";
      note.textContent = text;
      note.classList.toggle("char-limit-over", left < 0);
      clearTimeout(timer);
      timer = setTimeout(function () { live.textContent = text; }, 800);
    }
    area.addEventListener("input", update);
    update();
  });

  // Cost plan: totals while typing. The server's figures after saving are the binding ones.
  var plan = document.querySelector("form[action$='/kosten']");
  if (plan) {
    var box = document.createElement("p");
    box.className = "live-totals";
    box.setAttribute("aria-live", "polite");
    var financing = document.getElementById("own_share");
    if (financing) {
      financing.closest(".form-group").parentNode.insertBefore(box, financing.closest(".form-group"));
    }
    var cents = function (text) {
      var t = text.replace(/[\s\u00a0€]/g, "").replace(/EUR$/, "");
      if (!/^\d{1,3}(\.\d{3})*(,\d{1,2})?$|^\d+(,\d{1,2})?$/.test(t)) {
        return null;
      }
      var parts = t.replace(/\./g, "").split(",");
      return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
    };
    var euros = function (c) {
      return (c / 100).toLocaleString("de-DE", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + "\u00a0€";
    };
    var recompute = function () {
      var total = 0, eligible = 0, financed = 0;
      plan.querySelectorAll("input[id$='-amount'][id^='cost-']").forEach(function (input) {
        var c = cents(input.value) || 0;
        total += c;
        var choice = document.getElementById(input.id.replace("-amount", "-eligible"));
        if (!choice || choice.value !== "nein") {
          eligible += c;
        }
      });
      ["own_share", "third_party", "other_public", "grant"].forEach(function (id) {
        var field = document.getElementById(id);
        financed += field ? (cents(field.value) || 0) : 0;
      });
      box.textContent = "Vorläufig berechnet: Gesamtkosten " + euros(total) + ", förderfähig " + euros(eligible) +
        ", Finanzierung " + euros(financed) + (financed === total ? " (ausgeglichen)." : " (nicht ausgeglichen).");
    };
    plan.addEventListener("input", recompute);
    plan.addEventListener("change", recompute);
    recompute();
  }
});
