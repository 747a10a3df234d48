"""Read models: what the pages show of cases, tasks and the dashboard, as plain dataclasses."""
