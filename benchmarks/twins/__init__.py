"""PyTorch twins of minigan's models, for benchmarks and parity checks (never imported by minigan)."""
