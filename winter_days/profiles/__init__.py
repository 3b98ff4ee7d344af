"""The profiles' builders: which adapter each port gets, per profile (see `winter_days.platform`)."""
