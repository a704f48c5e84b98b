"""Reading: files → one Polars frame (CSV, Parquet, stdin, globs, headers, duplicates), dates as
exports write them, and problems located by file, row and column. Knows no vendor and no MRR."""
