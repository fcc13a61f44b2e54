"""Protocol I/O: the HTTP client, fetching, inbox intake, handlers, converters, outbox and
delivery."""
