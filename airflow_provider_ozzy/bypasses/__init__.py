"""Bypasses: whole objects moved instead of items (see ``base_bypass``)."""
