"""Small shared utilities (argument checks)."""
