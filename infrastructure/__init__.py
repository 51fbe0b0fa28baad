"""deskmail's infrastructure as code (CDK v2, Python)."""
