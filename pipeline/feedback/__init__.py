"""Examination results joined with assessments, and what they say about each rule."""
