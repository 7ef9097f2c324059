"""Customers: the record agents work from — names, contacts, addresses, consent, tax exemption, credit terms,
notes and interactions, search while the phone rings, duplicates and merges, privacy export and anonymization."""
