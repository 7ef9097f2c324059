"""Fulfillment's pure rules (standard library and `ordersmith.kernel` only): shipment transitions, wave building,
pick-path ordering, cartonization and rate choice — one module each."""
