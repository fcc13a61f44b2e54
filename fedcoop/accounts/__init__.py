"""Identity domain: accounts, local actors and their keys, coops, instance metadata.

Knows nothing of ActivityPub or HTTP: it stores who exists and proves passwords; the
federation layer renders these rows as actor documents.
"""
