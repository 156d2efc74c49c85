"""Batch scoring at scale: partitioned input streamed in bounded memory, resumable, on one machine
or on a Ray cluster (see README, "Batch scoring at scale")."""
