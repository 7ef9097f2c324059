"""Finance: the general ledger posted from business events (chart of accounts, journal, periods)."""
