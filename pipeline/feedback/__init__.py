"""Examination results joined with assessments, and what they say about each rule.

Offers ``join`` (the join of an assessment with its examination result), ``feed`` (records
through the join), ``stats`` and ``report`` (hit rates and lift per rule), ``safe`` (the WCO
SAFE performance measures) and ``decode``. Pure: imports ``contract``, ``records`` and
``rules``; the worker keeps the join's table, the commands read the topics.
"""
