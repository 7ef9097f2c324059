"""Orders: one path for every channel — capture, holds, allocation, backorders, edits, cancellations, returns."""
