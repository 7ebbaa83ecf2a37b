"""The hall's other devices (issue 14): the counter sign and the rating pad (one
counter device token per counter), customer ratings, the lobby manager's tablet,
the TVs' information boards and slides, staff identity, and device health."""
