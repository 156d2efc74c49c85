"""Reading, writing, splitting and converting data files of records."""
