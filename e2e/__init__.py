"""End-to-end tests and helpers: real OpenBao servers, real plugins."""
