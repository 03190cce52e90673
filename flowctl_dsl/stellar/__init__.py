"""Stellar knowledge: networks, XDR decoding behind one interface, data-lake layout, ledger views."""
