"""Platform: the audit trail, the mail outbox, the scheduler's stepping, retention, backups, health and metrics."""
