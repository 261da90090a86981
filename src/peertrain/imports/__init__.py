"""Bringing records in from files: the readers of LMS exports and the profiles that map them, the
classification of each row, the importer (with its fast path for plain CSV) that stores a file in
the ledger as one batch, the simple CSV tables ``peertrain check`` reads (roster, completions,
exemptions), and the data options every evaluating command and the feed server load their inputs
with.

It imports the domain (:mod:`peertrain.rules`) and the ledger, never the calendars, the report or
the command line. ``docs/architecture.md`` draws the layers.
"""
