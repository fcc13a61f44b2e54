"""HTTP adapters only: ActivityPub endpoints, well-known documents, HTML pages, APIs."""
