"""Connectors shipped with observatory, one module per source type.

Each module exposes a `connector` object and is registered in pyproject.toml under the
`observatory.connectors` entry-point group, exactly as a third-party connector would be.
"""
