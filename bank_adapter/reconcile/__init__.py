"""The reconciliation job (contract section 7): a bank's settlement file against the ledger.

A pure core and a thin shell, like the rest of the package:
- `settlement`: the file's lines to typed rows, or problems naming line and column;
- `matching`: the merge-join of two reference-ordered streams, the break classes, and
  both sides' statement figures (no I/O, no clock);
- `sorting`: the external sort that puts the bank's rows in reference order on disk;
- `ledger`: the day's payments read from the database in reference order, by batches;
- `report`: the JSON report and the breaks CSV, assembled by streaming;
- `runner` and `cli`: the job and its command line; `progress`: the terminal's bar.

Why an external sort and a merge-join. A day may hold millions of payments, and the
job must run in bounded memory (256 MB peak for a 1,000,000-row day, whatever the
file). A dict of either side would grow with the day, and so would a sort in memory.
The ledger can be read in reference order from an index; the bank's file arrives in
any order, so it is sorted on disk first. Then one pass over both streams, a ledger
batch and a bank row at a time, finds every break. Breaks are written to disk as they are found, and
the report is assembled from there. See `runner` for the memory bound in detail.
"""
