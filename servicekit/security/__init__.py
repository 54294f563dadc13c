"""Security: access tokens, keys on disk, protected personal fields, the caller's scope."""
