"""The one assembly of the live pipeline that run, demo, serve and node use."""
