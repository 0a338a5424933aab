"""Gitward: GitOps continuous delivery from Git to Kubernetes clusters."""

__version__ = "0.1.0"
