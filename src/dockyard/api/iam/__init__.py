"""The IAM API (AWS query protocol, SigV4 service ``iam``) over ``registry.iam``."""
