"""The console-users GraphQL API server: the Users section of an admin console."""
