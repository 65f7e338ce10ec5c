"""The Kiel Institute's Ukraine Support Tracker workbook, read (workbook) and mapped onto the
canonical rows that the lines importer stores (importer)."""
