"""Report generators: tables for the README and docs, computed from the
code (they sit above :mod:`mbv3.apis`, below :mod:`mbv3.cli`)."""
