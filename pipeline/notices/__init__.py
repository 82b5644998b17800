"""Notices to filers (customs.filer.notices.v1): what the worker tells whoever filed each
declaration version, in the batch that assesses it. What to do and by when, never why."""
