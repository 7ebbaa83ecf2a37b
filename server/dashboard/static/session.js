/* The dashboard's sign-in form (login.html) and its "sign out" button (refused.html). */
(function () {
  "use strict";
  var login = document.getElementById("login");
  if (login) {
    login.addEventListener("submit", async function (event) {
      event.preventDefault();
      var error = document.getElementById("login-error");
      error.hidden = true;
      var body = {
        username: document.getElementById("username").value.trim(),
        password: document.getElementById("password").value,
      };
      try {
        var response = await fetch("/api/v1/auth/login", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body), credentials: "same-origin",
        });
        if (response.ok) { location.reload(); return; }
        var data = await response.json().catch(function () { return {}; });
        error.textContent = (data.error && data.error.message) || "登录失败 Sign-in failed";
      } catch (e) {
        error.textContent = "无法连接服务器 Cannot reach the server";
      }
      error.hidden = false;
    });
  }
  var signout = document.getElementById("signout");
  if (signout && !document.body.classList.contains("dashboard")) {
    signout.addEventListener("click", async function () {
      await fetch("/api/v1/auth/logout", { method: "POST", credentials: "same-origin" });
      location.reload();
    });
  }
})();
