"""The store POS: stores and their registers, the catalog slice a till keeps for offline selling, the intake of
till sales (each placed once through checkout as its POS channel's order, `fulfillment: taken`, the sale's own id
as `external_id`), sales that can no longer be filled flagged for the store manager, and shifts with their cash
drawer's count.

Invariant: one till sale is at most one order, however often and however concurrently it is sent; a sale the till
handed over offline is never lost — it becomes an order or a flagged sale a manager works.
"""
