// MIMS Admin: small helpers; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  const first = document.querySelector("[data-focus-first]");
  if (first) first.focus();
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
