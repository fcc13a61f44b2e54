"""fedcoop: a federated server for platform cooperatives."""

__version__ = "0.1.0"
SOFTWARE_NAME = "fedcoop"
