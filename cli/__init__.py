"""The `netralitas` command line: the one place that sees every layer."""
