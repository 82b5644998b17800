"""What targeting officers work from: the open referrals, ranked and filtered."""
