"""Normalizing: rows of the `periods` shape → validated rows with their MRR in integer minor
units of the reporting currency (SPEC §3): parsing, checks, trials and statuses, FX, division."""
