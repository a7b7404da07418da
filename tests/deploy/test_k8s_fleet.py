"""What the fleet manifests must mean, beyond being valid: drain, probes, scaling, wiring.

Numbers come from the manifests and from ``config.Settings``, so a changed default or a
changed manifest that no longer fits fails here.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import urlsplit

from config import Settings
from launcher.fleet_routes import fleet
from tests.deploy.manifests import (
    ROOT,
    applied,
    env_example_names,
    kustomization,
    one,
)

MARGIN_SECS = 60  # at least this long for goodbyes, stopping workers, leaving the registry
DEFAULTS = Settings.model_fields


def _config() -> dict[str, str]:
    return one("ConfigMap", "switchboard-config")["data"]


def _setting(name: str) -> float:
    """The fleet's value of a setting: the ConfigMap's, else Settings' default."""
    value = _config().get(name.upper())
    return float(value) if value is not None else float(DEFAULTS[name].default)


def _pod() -> dict:
    return one("StatefulSet", "switchboard")["spec"]["template"]["spec"]


def _launcher() -> dict:
    (container,) = _pod()["containers"]
    return container


def _trigger() -> dict:
    (trigger,) = one("ScaledObject", "switchboard")["spec"]["triggers"]
    return trigger


def test_kustomization_lists_every_manifest_but_the_example_secret():
    listed = set(kustomization()["resources"])
    on_disk = {p.name for p in (ROOT / "deploy" / "k8s").glob("*.yaml")}
    assert listed == on_disk - {"kustomization.yaml", "secret.example.yaml"}


def test_every_object_is_in_the_namespace():
    namespace = kustomization()["namespace"]
    for doc in applied():
        expected = None if doc["kind"] == "Namespace" else namespace
        assert doc["metadata"].get("namespace") == expected, doc["metadata"]
    assert one("Namespace")["metadata"]["name"] == namespace


def test_pods_get_time_to_drain_every_call():
    grace = _pod()["terminationGracePeriodSeconds"]
    longest_call = _setting("max_call_duration_secs")
    drain = _setting("drain_timeout_secs")
    assert DEFAULTS["max_call_duration_secs"].default == 1800
    assert drain >= longest_call, "a scale-down would cut calls short"
    assert grace >= longest_call + MARGIN_SECS
    assert grace >= drain + MARGIN_SECS


def test_prestop_drains_the_launcher_and_waits_for_it():
    command = _launcher()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    script = command[2]
    assert "kill -TERM 1" in script  # the image's CMD is exec-form: PID 1 is the launcher
    assert re.search(r"while kill -0 1\b.*; do sleep \d+; done", script), script
    assert not _pod().get("shareProcessNamespace"), "PID 1 would not be the launcher"


def test_probes_use_existing_public_endpoints():
    routes = {route.path for route in _app_routes()}
    container = _launcher()
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port_names["http"] == int(_config()["PORT"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] in routes and get["path"] in {"/healthz", "/readyz"}, probe
        assert get["port"] in port_names
    # /readyz is 503 when this host is full: a full host must still serve webhooks and /fleet.
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"


def _app_routes():
    from launcher import app_routes

    return [route for route in app_routes.router.routes if hasattr(route, "path")]


def test_scaler_target_leaves_a_buffer_below_the_slots():
    slots = _setting("max_concurrent_calls")
    trigger = _trigger()
    target = float(trigger["metadata"]["targetValue"])
    assert trigger["type"] == "metrics-api"
    assert trigger.get("metricType", "AverageValue") == "AverageValue"  # calls per host
    assert 0 < target <= 0.8 * slots, (target, slots)
    scaled = one("ScaledObject", "switchboard")["spec"]
    assert scaled["minReplicaCount"] >= 2
    assert scaled["fallback"]["behavior"] == "currentReplicasIfHigher"
    target_ref = scaled["scaleTargetRef"]
    assert (target_ref["kind"], target_ref["name"]) == ("StatefulSet", "switchboard")


async def test_scaler_reads_the_fleet_route_through_the_service():
    trigger = _trigger()
    url = urlsplit(trigger["metadata"]["url"])
    service = one("Service", "switchboard")
    namespace = kustomization()["namespace"]
    assert url.hostname == f"switchboard.{namespace}.svc.cluster.local"
    assert url.port == service["spec"]["ports"][0]["port"]
    assert url.path == "/fleet"
    assert service["spec"]["selector"].items() <= _pod_labels().items()
    # The field KEDA reads is a number /fleet returns (here from a host without Redis).
    app = SimpleNamespace(
        state=SimpleNamespace(
            fleet=None,
            settings=Settings(_env_file=None),
            runner=SimpleNamespace(active_count=lambda: 3, draining=False),
        )
    )
    body = await fleet(SimpleNamespace(app=app))
    assert body[trigger["metadata"]["valueLocation"]] == 3
    # /fleet is an operator route: KEDA sends the API key from the Secret as a Bearer token.
    assert trigger["metadata"]["authModes"] == "bearer"
    auth = one("TriggerAuthentication", trigger["authenticationRef"]["name"])
    (ref,) = auth["spec"]["secretTargetRef"]
    assert (ref["parameter"], ref["key"]) == ("token", "SWITCHBOARD_API_KEY")
    assert ref["name"] == one("Secret")["metadata"]["name"]


def _pod_labels() -> dict:
    return one("StatefulSet", "switchboard")["spec"]["template"]["metadata"]["labels"]


def test_redis_url_points_at_the_redis_service():
    url = urlsplit(_config()["REDIS_URL"])
    service = one("Service", url.hostname.split(".")[0])
    assert url.scheme == "redis"
    assert url.hostname in {
        service["metadata"]["name"],
        f"{service['metadata']['name']}.{kustomization()['namespace']}.svc.cluster.local",
    }
    assert url.port == service["spec"]["ports"][0]["port"]
    redis = one("Deployment", "switchboard-redis")["spec"]["template"]
    assert service["spec"]["selector"].items() <= redis["metadata"]["labels"].items()
    (container,) = redis["spec"]["containers"]
    assert any(p["containerPort"] == url.port for p in container["ports"])


def test_each_host_has_its_own_id_and_public_url():
    env = {e["name"]: e for e in _launcher()["env"]}
    names = [e["name"] for e in _launcher()["env"]]
    assert env["HOST_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    public = env["PUBLIC_URL"]["value"]
    assert public.startswith("https://$(HOST_ID).")  # one DNS name per pod
    assert names.index("HOST_ID") < names.index("PUBLIC_URL")  # $(HOST_ID) must come first
    assert not {"HOST_ID", "PUBLIC_URL"} & set(_config()), "per-pod values in the shared map"
    headless = one("Service", one("StatefulSet")["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True  # draining hosts stay reachable


def test_every_env_var_is_documented():
    documented = env_example_names()
    # uvicorn's own variable, not Switchboard's: README "Behind a proxy" documents it.
    uvicorn_env = {"FORWARDED_ALLOW_IPS"}
    used = set(_config()) | set(one("Secret")["stringData"])
    used |= {e["name"] for e in _launcher()["env"]}
    assert used - documented <= uvicorn_env, used - documented - uvicorn_env
    readme = (ROOT / "README.md").read_text()
    assert all(name in readme for name in used & uvicorn_env)
    env_from = {
        ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in _launcher()["envFrom"]
    }
    assert env_from == {"switchboard-config", one("Secret")["metadata"]["name"]}


def test_settings_accept_the_config_map():
    Settings(_env_file=None, **{k.lower(): v for k, v in _config().items()})


def test_no_real_secret_is_shipped():
    for value in one("Secret")["stringData"].values():
        assert re.fullmatch(r"replace-\S*|ACx+", value), value
    assert not any(doc["kind"] == "Secret" for doc in applied())


def test_launcher_command_is_the_images():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["python", "server.py"]' in dockerfile  # exec form: the launcher is PID 1
    assert "command" not in _launcher() and "args" not in _launcher()
    assert "EXPOSE 7860" in dockerfile
    assert "--uid 10001" in dockerfile and _pod()["securityContext"]["runAsUser"] == 10001
