"""CDK stacks for deskmail."""
