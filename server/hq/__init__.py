"""Headquarters: every branch a user oversees at a glance (`/hq`, `GET /overview`),
and the branches compared over a date range."""
