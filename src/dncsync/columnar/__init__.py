"""Columnar building blocks of ingest: the compact merge index and batch-wise normalization."""
