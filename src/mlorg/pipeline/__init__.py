"""The reference pipeline: a real fraud model run end to end in-process."""
