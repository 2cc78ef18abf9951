// Applies the remembered theme before the first paint (a classic script in <head>).
(function () {
  try {
    var theme = localStorage.getItem("baton.theme");
    if (theme === "light" || theme === "dark") document.documentElement.setAttribute("data-theme", theme);
  } catch (e) {
    /* storage disabled: follow the system */
  }
})();
