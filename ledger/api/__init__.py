"""What every API resource shares: CSV output, permissions, errors and the URL map."""
