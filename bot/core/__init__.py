"""Platform-neutral models and machinery."""
