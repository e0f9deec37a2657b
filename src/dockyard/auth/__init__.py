"""Authentication: AWS Signature Version 4, tokens, credentials."""
