"""Bare-metal nodes (rented or on-prem GPU boxes) as nodes and replicas, with their fixed prices.

Nodes come from the exporter's own inventory file and/or SkyPilot's SSH node-pool file; each is
health-checked on every run, concurrently and with a bound.
"""
