"""Helpers shared by the process-level test layers (federation, interop).

`processes` starts `fedcoop` commands as real subprocesses on free loopback ports and stops
them with bounded waits; `peer` installs, starts and drives the Fedify interop peer. They hold
no pytest fixtures themselves, so any test layer can build its own fixtures on them.
"""
