"""CRM sync: our customers and orders out to a CRM account as its contacts and deals (HubSpot first), with the
customer's marketing consent and erasure following them.

Invariants: one CRM object per record (the link table, and the CRM's own upsert by a unique property); no call to
the CRM inside a transaction; a sync that fails for good is dead-lettered with what it would have sent."""
