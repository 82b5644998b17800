"""Notices to filers (customs.filer.notices.v1): what the worker tells whoever filed each
declaration version, in the batch that assesses it. What to do and by when, never why.

Offers ``build`` (the notice of an outcome, a rejection or a closed referral, and the filer it
goes to); ``texts`` and ``errors`` are its wording.

Pure: imports ``contract`` and ``screening.decode`` only; never ``worker``, ``kafka``,
``workbench``, ``cli``, Faust, a Kafka client or a database driver
(tests/unit/test_layering.py).
"""
