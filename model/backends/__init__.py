"""The backends: one module (or subpackage) each, registered in `netralitas.model.registry`."""
