"""The evaluation harness behind ``qa eval``: data sets, metrics, the runner and its reports."""
