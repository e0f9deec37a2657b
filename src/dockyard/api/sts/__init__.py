"""The STS API (AWS query protocol, SigV4 service ``sts``) over ``registry.iam``."""
