"""Dataset releases: the published ledger frozen into files cited by name (docs/api.md,
"Releases"). `make` writes a release's folder and its record; `changes` compares two releases'
lines CSV files, so what a release says never depends on the ledger's later state."""
