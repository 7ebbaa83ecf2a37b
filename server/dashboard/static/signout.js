// Moved out of the template: the pages run under a CSP without inline script.
document.getElementById("signout").addEventListener("click", async () => {
  await fetch("/api/v1/auth/logout", {method: "POST", credentials: "same-origin"});
  location.reload();
});
