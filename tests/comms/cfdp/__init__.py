"""Tests for comms.cfdp (CCSDS 727.0-B-5 PDUs, TLVs, reserved messages, checksums)."""
