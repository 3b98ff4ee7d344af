"""The main job: `winter-days demo` simulates days end to end on one machine, prints a
summary (`report.py`) and serves the dashboards; `winter-days backfill` runs a date range."""
