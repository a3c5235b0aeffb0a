"""observatory: a decision dashboard for metropolitan areas."""

__version__ = "0.1.0"
