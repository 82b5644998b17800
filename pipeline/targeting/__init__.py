"""What targeting officers work from: the open referrals, ranked and filtered.

Offers ``referrals`` (OpenReferrals and the hit filters, used by ``screening hits``) and
``since``. Pure: imports ``screening`` only; never ``worker``, ``kafka``, ``workbench`` or
``cli``.
"""
