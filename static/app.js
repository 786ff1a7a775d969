// Progressive enhancement only: every page works without this script.
// After a failed submission, move keyboard and screen-reader focus to the error summary
// (GOV.UK pattern), so the problems are announced and one Tab away from the first field.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
});
