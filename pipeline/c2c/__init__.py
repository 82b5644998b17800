"""Customs-to-Customs exchange (WCO SAFE pillar 1): sharing agreements as reviewed data, and the
pure functions that decide what may leave for which partner administration."""
