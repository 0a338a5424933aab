"""gitward.model: the user-facing objects (Application, ApplicationSet, Project, Cluster), validated.

Pydantic models in group ``gitward.dev/v1alpha1``; readers for Argo CD Applications and Flux
Kustomizations with their GitRepository or OCIRepository; ``load_objects`` that validates each document
on its own.
Pure: no file or network access.
"""

from gitward.model.application import (
    Application,
    ApplicationSpec,
    DependsOn,
    Destination,
    IgnoreDifference,
)
from gitward.model.appset import ApplicationSet
from gitward.model.argocd import from_argocd, is_argocd_application
from gitward.model.cluster import IN_CLUSTER, Cluster, ClusterSpec
from gitward.model.common import API_VERSION, GROUP, ObjectMeta
from gitward.model.errors import ConversionError, ObjectError, describe
from gitward.model.flux import from_flux, is_flux_git_repository, is_flux_kustomization
from gitward.model.loader import (
    LoadedConfig,
    is_gitward_application,
    is_gitward_object,
    load_object,
    load_objects,
)
from gitward.model.notification import Notification, NotificationSpec
from gitward.model.plugin import Plugin, PluginSource, PluginSpec
from gitward.model.project import DEFAULT_PROJECT, GroupKind, Project, ProjectDestination, ProjectSpec
from gitward.model.receiver import Receiver, ReceiverSpec
from gitward.model.source import DirectorySource, HelmParameter, HelmSource, KustomizeSource, Source
from gitward.model.syncpolicy import Automated, Backoff, Retry, SyncPolicy

__all__ = [
    "API_VERSION",
    "DEFAULT_PROJECT",
    "GROUP",
    "IN_CLUSTER",
    "Application",
    "ApplicationSet",
    "ApplicationSpec",
    "Automated",
    "Backoff",
    "Cluster",
    "ClusterSpec",
    "ConversionError",
    "DependsOn",
    "Destination",
    "DirectorySource",
    "GroupKind",
    "HelmParameter",
    "HelmSource",
    "IgnoreDifference",
    "KustomizeSource",
    "LoadedConfig",
    "Notification",
    "NotificationSpec",
    "ObjectError",
    "ObjectMeta",
    "Plugin",
    "PluginSource",
    "PluginSpec",
    "Project",
    "ProjectDestination",
    "ProjectSpec",
    "Receiver",
    "ReceiverSpec",
    "Retry",
    "Source",
    "SyncPolicy",
    "describe",
    "from_argocd",
    "from_flux",
    "is_argocd_application",
    "is_flux_git_repository",
    "is_flux_kustomization",
    "is_gitward_application",
    "is_gitward_object",
    "load_object",
    "load_objects",
]
