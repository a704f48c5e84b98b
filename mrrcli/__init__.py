"""mrrcli: exact monthly MRR movements and Expansion MRR from SaaS billing exports."""

__version__ = "0.1.0"
