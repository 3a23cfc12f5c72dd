"""Licenses: SPDX normalisation (ML licenses included), detection in repositories, compatibility rules."""
