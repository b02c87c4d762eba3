"""Bounds on everything a caller or the proxy can hand the engine.

Every value that comes from outside (a request field, a role stored by an operator, a page of
keys from the proxy) is checked against one of these before it is used or kept in memory, so a
hostile or mistaken input gets a 400 naming the field, never the plugin's memory or time.
"""

from __future__ import annotations

from datetime import timedelta

MAX_URL_LENGTH = 2048
MAX_ADMIN_KEY_LENGTH = 1024
MAX_CA_CERT_BYTES = 256 * 1024
MIN_TIMEOUT = timedelta(seconds=1)
# The host gives every request 90 s; one attempt plus one retry must fit inside it.
MAX_TIMEOUT = timedelta(seconds=40)
OPERATION_DEADLINE = timedelta(seconds=80)
"""The longest one engine operation may spend talking to the proxy (the host cancels at 90 s)."""

MAX_ROLE_NAME = 128
MAX_MODELS = 1000
MAX_MODEL_NAME = 256
MAX_TAGS = 100
MAX_TAG = 128
MAX_METADATA_ENTRIES = 64
MAX_METADATA_KEY = 128
MAX_METADATA_VALUE = 1024
MAX_KEY_REQUEST_BYTES = 64 * 1024
MAX_KEY_REQUEST_DEPTH = 16
MAX_ID_TEMPLATE = 512
MAX_ID_LENGTH = 256
MAX_ALIAS_TEMPLATE = 256
MAX_ALIAS_LENGTH = 255
MAX_BUDGET = 1e12
MAX_LIMIT = 10**12
MAX_PARALLEL_REQUESTS = 2**31 - 1
"""LiteLLM keeps max_parallel_requests in a 32-bit column: a larger value is accepted by its
API and then fails the insert with a 500."""
MAX_STORED_INT = 2**63 - 1
"""The largest integer LiteLLM's database (Postgres BIGINT) stores, wherever it is in a key."""
MAX_CACHED_ROLES = 1024
ROLE_LOCKS = 64
"""Writes of one role are serialised through one of this many locks (names share them by hash)."""

TIDY_MAX_KEYS = 100_000
"""Keys a tidy run reads from the proxy at most (newest first); the answer then says it is not
complete."""
TIDY_LISTING_TIME = OPERATION_DEADLINE / 2
"""How long a tidy run lists the proxy at most (about 2 ms a key on a small machine), so that
it still deletes what it found before the operation's deadline; then it is not complete."""
TIDY_REPORT_LIMIT = 1000
"""Keys a tidy answer lists by name at most (the counts are always complete)."""
MIN_TIDY_INTERVAL = timedelta(minutes=5)
MIN_SAFETY_BUFFER = timedelta(0)
"""A buffer of zero is safe: a key is always in the index or a write-ahead entry from the moment
it exists until it is deleted, and tidy reads both after listing the proxy. The default buffer
is a second line of defence, not a requirement."""
DEFAULT_SAFETY_BUFFER = timedelta(minutes=5)
MAX_SAFETY_BUFFER = timedelta(days=7)
