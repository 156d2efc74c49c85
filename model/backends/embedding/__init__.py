"""The frozen-encoder backend: pooled embeddings of a pretrained encoder and a linear head."""
