"""Accounts: organisations, users and their roles, passwords, sign-in sessions and API tokens."""
