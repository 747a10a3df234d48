"""People and partnerships: accounts, sign-in, sessions, invitations, roles and the access policy."""
