"""The transformer backend: the classifier, encoding, Hugging Face loading, fast paths and their accuracy guard."""
