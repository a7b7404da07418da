"""Loading deploy/k8s: the manifests kustomization.yaml lists, the example Secret, .env.example."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KEDA_CRDS = Path(__file__).resolve().parent / "keda"
SECRET_EXAMPLE = K8S / "secret.example.yaml"


def load_all(path: Path) -> list[dict]:
    """Every non-empty YAML document in ``path``."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict:
    """deploy/k8s/kustomization.yaml."""
    return load_all(K8S / "kustomization.yaml")[0]


def applied() -> list[dict]:
    """The objects ``kubectl apply -k deploy/k8s`` creates, in the order listed."""
    return [doc for name in kustomization()["resources"] for doc in load_all(K8S / name)]


def every_object() -> list[dict]:
    """What is applied, plus the example Secret the operator creates first."""
    return applied() + load_all(SECRET_EXAMPLE)


def one(kind: str, name: str | None = None) -> dict:
    """The one object of ``kind`` (and ``name``) in :func:`every_object`."""
    found = [
        doc
        for doc in every_object()
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def env_example_names() -> set[str]:
    """Every variable name .env.example sets (``NAME=value`` lines)."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {m[1] for line in lines if (m := re.match(r"([A-Z][A-Z0-9_]*)=", line))}
