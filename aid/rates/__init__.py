"""Exchange rates and conversion: converting values in SQL with the stored rates (convert) and the
database triggers that keep each line's `value_eur` in step (triggers)."""
