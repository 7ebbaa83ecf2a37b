"""The web kit every page is built on: one static mount (`/static/<part>/...`), one
base template (`kit/base.html`), one WebSocket client (`/static/kit/live.js`), one
device-cookie helper, and one translation catalogue per language. How to make a new
page with it: docs/web-kit.md."""
