"""The GitHub App door."""
