// Enhancements only: every page works without this file.
// A sign-in request page polls its own continue button's target until the
// organisation's connector has answered, then continues by itself.
(function () {
  var form = document.querySelector("form[data-poll]");
  if (!form) { return; }
  var tries = 0;
  function poll() {
    tries += 1;
    if (tries > 150) { return; }
    fetch(form.getAttribute("data-poll") + "/status", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && (s.status === "done" || s.status === "failed")) { form.submit(); }
        else { setTimeout(poll, 2000); }
      })
      .catch(function () { setTimeout(poll, 4000); });
  }
  setTimeout(poll, 2000);
})();
