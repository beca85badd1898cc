"""Adapters for the outside world: Docker engine, commands (iptables, tcpdump), clock.

The rest of irkit takes these through `irkit.engine.host.Host`, built for real by
`real_host()` and by small fakes in unit tests.
"""
