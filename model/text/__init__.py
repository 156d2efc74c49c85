"""Text preparation shared by every backend: normalisation, election profiles, stemming."""
