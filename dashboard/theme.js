// Sets html[data-theme] before the first paint (a classic script in <head>):
// the remembered choice, else the system's, followed while it changes. The
// stylesheet then needs one dark palette, not a second copy for the system's.
(function () {
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function chosen() {
    try {
      var theme = localStorage.getItem("baton.theme");
      return theme === "light" || theme === "dark" ? theme : null;
    } catch (e) {
      return null; // storage disabled: follow the system
    }
  }
  function apply() {
    document.documentElement.setAttribute("data-theme", chosen() || (media && media.matches ? "dark" : "light"));
  }
  apply();
  if (media && media.addEventListener) {
    media.addEventListener("change", function () {
      apply();
      window.dispatchEvent(new Event("resize")); // charts pick up the colours
    });
  }
})();
