"""The `releasebot` command line: admin commands and the server entry points."""
