"""Dataset and output fingerprints: canonical per-file BLAKE3 manifests and their digests."""
