"""The core: text preparation, the record type, the backend contract and registry, the artifact format, backends and the Scorer."""
