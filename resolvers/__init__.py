"""The rules of the Users section, one module per capability, each change one transaction."""
