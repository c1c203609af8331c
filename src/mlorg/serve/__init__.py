"""The reference model over HTTP, and an open-loop load generator to measure it."""
