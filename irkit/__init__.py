"""irkit: incident response for Docker hosts (contain, capture, seal, verify)."""

__version__ = "0.1.0"
TOOL_NAME = "irkit"
