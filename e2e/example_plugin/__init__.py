"""A small leased key/value store built on sdk.framework, mounted by the real-server tests."""
