"""Payments: the card vault, gateway adapters, gift cards, checks, invoices on account, split tender, refunds."""
