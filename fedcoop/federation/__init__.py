"""Protocol I/O: converters between domain rows and AS2, discovery documents, and (later)
the HTTP client, inbox intake, outbox and delivery."""
