"""Exchange rates and conversion: converting values in SQL with the stored rates (convert), the
one rule for a line's value in euros (rule), the database triggers generated from it that keep
each line's `value_eur` in step (triggers) and the system check that they are installed (checks)."""
