"""Pure ActivityPub protocol code: vocabulary, signatures, proofs; no I/O."""
