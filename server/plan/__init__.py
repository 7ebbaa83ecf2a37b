"""Staffing: Erlang C, the M/M/c check of the simulator, and the staffing planner
(docs/statistics.md, "Erlang C" and "The staffing planner")."""
