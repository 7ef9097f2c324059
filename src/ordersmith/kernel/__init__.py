"""The kernel: money, ids, errors, events, clock and pagination. Pure; imported by every context."""
