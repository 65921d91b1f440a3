"""dawnlink links: the link simulator (orbits, contacts, Doppler, channels, emulator)."""
