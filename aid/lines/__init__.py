"""The canonical lines CSV, out and in: its columns and the streamed export, then the import
pipeline (read → parse → values → plan → importer, with the bulk inserts) that reads it back."""
