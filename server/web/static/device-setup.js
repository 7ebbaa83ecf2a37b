// Sets a kiosk or TV up without its token in any address (docs/security.md): the
// token typed or pasted into the form is POSTed once and kept in an HttpOnly cookie.
(function () {
  "use strict";
  var form = document.getElementById("device-setup");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var error = document.getElementById("device-setup-error");
    error.hidden = true;
    fetch("/api/v1/auth/device", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: document.getElementById("device-token").value.trim() })
    }).then(function (response) {
      if (response.ok) { location.replace(location.pathname); return; }
      error.hidden = false;
    }, function () { error.hidden = false; });
  });
})();
