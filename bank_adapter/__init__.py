"""bank-adapter: the signed, validated, durable door between banks and the platform."""

__version__ = "0.1.0"
