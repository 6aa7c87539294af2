"""Fake HTTP servers of the remote systems, one module each, served over loopback."""
