// Moved out of the template: the pages run under a CSP without inline script.
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.hidden = true;
  const body = {
    username: document.getElementById("username").value.trim(),
    password: document.getElementById("password").value,
  };
  try {
    const response = await fetch("/api/v1/auth/login", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body), credentials: "same-origin",
    });
    if (response.ok) { location.reload(); return; }
    const data = await response.json().catch(() => ({}));
    error.textContent = (data.error && data.error.message) || LobbyQ.both("signInFailed");
  } catch (e) {
    error.textContent = LobbyQ.both("serverUnreachable");
  }
  error.hidden = false;
});
