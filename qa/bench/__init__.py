"""`qa bench`: corpora of given sizes from real Chinese text, indexed and measured in one run, with a report."""
