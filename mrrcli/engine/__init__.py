"""The engine: MRR rows → keys, the timeline of changes, their classification (SPEC §4), and the
additive partial sums every report is combined from (§5, §6, §13). Frames in, frames out."""
