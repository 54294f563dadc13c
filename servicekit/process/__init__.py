"""Processes: configuration, the runner, metrics, the garbage collector, CPU priority."""
