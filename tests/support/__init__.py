"""Test doubles shared by the test suites, the end-to-end tests and the demo."""
