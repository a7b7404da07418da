"""Every manifest in deploy/k8s is valid for Kubernetes and KEDA, checked offline.

Core kinds go through kubernetes-validate (the Kubernetes OpenAPI schemas it bundles, strict:
an unknown field is an error, as ``kubectl apply``'s server-side field validation makes it). The
ScaledObject and TriggerAuthentication go through the openAPIV3Schema of KEDA's own CRDs
(vendored in tests/deploy/keda/, see its README), made strict the same way.
"""

from __future__ import annotations

import copy
from functools import cache

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.manifests import KEDA_CRDS, every_object

# The oldest Kubernetes the manifests are checked against, and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.29", kubernetes_validate.utils.latest_version()]
KEDA_KINDS = {
    "ScaledObject": "keda.sh_scaledobjects.yaml",
    "TriggerAuthentication": "keda.sh_triggerauthentications.yaml",
}


def _strict(schema: dict) -> dict:
    """Refuse fields a schema does not name, as the API server's strict field validation does."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


@cache
def keda_schema(kind: str, api_version: str) -> dict:
    """The strict openAPIV3Schema of KEDA's CRD for ``kind`` at ``api_version``."""
    crd = yaml.safe_load((KEDA_CRDS / KEDA_KINDS[kind]).read_text())
    assert crd["spec"]["names"]["kind"] == kind
    group, _, version = api_version.partition("/")
    assert crd["spec"]["group"] == group, api_version
    served = {v["name"]: v for v in crd["spec"]["versions"] if v["served"]}
    assert version in served, (api_version, list(served))
    return _strict(served[version]["schema"]["openAPIV3Schema"])


def validate(doc: dict) -> None:
    """Validate one object: KEDA kinds against KEDA's CRD, the rest against Kubernetes.

    Raises:
        jsonschema.ValidationError: The object does not fit its schema.
    """
    if doc["kind"] in KEDA_KINDS:
        schema = keda_schema(doc["kind"], doc["apiVersion"])
        jsonschema.Draft7Validator(schema).validate(doc)
        return
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)


OBJECTS = every_object()


@pytest.mark.parametrize(
    "doc", OBJECTS, ids=[f"{d['kind']}/{d['metadata']['name']}" for d in OBJECTS]
)
def test_manifest_is_valid(doc):
    try:
        validate(doc)
    except jsonschema.ValidationError as e:  # the whole schema in the report is unreadable
        where = ".".join(str(p) for p in e.absolute_path)
        pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {where}: {e.message}", False)


def test_every_kind_has_a_schema():
    kinds = {doc["kind"] for doc in OBJECTS}
    assert {"StatefulSet", "Deployment", "Service", "ConfigMap", "ScaledObject"} <= kinds
    for doc in OBJECTS:
        if doc["kind"] not in KEDA_KINDS:  # raises SchemaNotFoundError for an unknown kind
            kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[-1], strict=True)


@pytest.mark.parametrize(
    ("kind", "path", "bad"),
    [
        ("StatefulSet", ["spec", "template", "spec", "terminationGracePeriod"], 1920),
        ("StatefulSet", ["spec", "replicas"], "two"),
        ("Service", ["spec", "ports", 0, "port"], "http"),
        ("ScaledObject", ["spec", "minReplicas"], 2),
        ("ScaledObject", ["spec", "fallback", "behavior"], "sometimes"),
        ("ScaledObject", ["spec", "triggers", 0, "metadata", "targetValue"], 14),
        ("TriggerAuthentication", ["spec", "secretTargetRef", 0, "secret"], "x"),
    ],
)
def test_a_broken_manifest_is_refused(kind, path, bad):
    doc = copy.deepcopy(next(d for d in OBJECTS if d["kind"] == kind))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)
