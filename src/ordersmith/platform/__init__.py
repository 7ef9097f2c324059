"""Platform: settings, database and unit of work, security, audit, outbox and relay, jobs, idempotency."""
