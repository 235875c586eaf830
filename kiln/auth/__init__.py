"""Security: users, roles, tokens, sessions and the enterprise scope every read goes through."""
