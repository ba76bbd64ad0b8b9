"""Fixtures for the team topology: a team server in one folder, the agent's clone in another."""
