"""The Kubernetes manifests (deploy/k8s/) and the image (deploy/image/Dockerfile), checked offline.

Every document validates against the Kubernetes API's JSON schemas that the `kubernetes-validate` package ships
(strict: an unknown field fails, not only a wrong type); nothing is downloaded. The operators' custom resources
(RabbitmqCluster, MongoDBCommunity, PodMonitor, PrometheusRule) have no schema there and are checked field by field
below instead. The rest holds the manifests to the platform they deploy: a Deployment for exactly the processes
`bin/run` starts, each with probes, requests and limits, a disruption budget and network policies; broker and
database users of its own; every key it needs mounted and no other; every Secret it names made by the README or
an operator.
"""
from __future__ import annotations

import copy
import importlib
import re
import tomllib
from pathlib import Path, PurePosixPath

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

from deploy.local.processes import GATEWAY_ADMIN_PORT, GATEWAY_GRPC_PORT, GATEWAY_HTTP_PORT, PROCESSES
from servicekit.messaging.broker_access import BROKER_USERS, VHOST, broker_user, user_name
from servicekit.storage.mongo import MongoStore
from services.scoring.points_store import points_database

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
README = K8S / "README.md"
DOCKERFILE = ROOT / "deploy" / "image" / "Dockerfile"
KUBERNETES_VERSION = "1.30"      # the oldest release the manifests promise to apply to
NAMESPACE = "partybuilding"
# Custom resources: their schemas come with their operators, not with Kubernetes; the tests below check them.
OPERATOR_KINDS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "RabbitMQ Cluster Operator",
    ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"): "MongoDB Community Operator",
    ("monitoring.coreos.com/v1", "PodMonitor"): "Prometheus Operator",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "Prometheus Operator",
}
PRINCIPALS = sorted({user.service for user in BROKER_USERS})     # call-key principals: the services and the gateway
# The key files each process reads (settings naming a file): all of them must be mounted, and no other key.
KEY_SETTINGS = {
    "identity": {"TOKEN_PRIVATE_KEY_PATH", "TOKEN_PUBLIC_KEY_PATH", "FIELD_ENCRYPTION_KEY_PATH",
                 "FIELD_INDEX_KEY_PATH"},
    "attendance": {"QR_SIGNING_KEY_PATH"},
    "gateway": {"TOKEN_PUBLIC_KEY_PATH", "GATEWAY_TLS_CERT", "GATEWAY_TLS_KEY"},
}
# A consumer process with no store of its own class: the database its consumer opens (PointsApplier.for_container).
CONSUMER_DATABASES = {"scoring-points": (points_database("scoring"),)}


def load_documents() -> list[tuple[str, dict]]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                documents.append((path.name, document))
    return documents


DOCUMENTS = load_documents()


def of_kind(kind: str) -> list[dict]:
    return [document for _, document in DOCUMENTS if document["kind"] == kind]


def one(kind: str, name: str) -> dict:
    found = [document for document in of_kind(kind) if document["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} documents"
    return found[0]


DEPLOYMENTS = {document["metadata"]["name"]: document for document in of_kind("Deployment")}
SETTINGS = one("ConfigMap", "partybuilding-settings")["data"]


def pod_spec(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return workload["spec"]["template"]["metadata"]["labels"]


def container(deployment: dict) -> dict:
    containers = pod_spec(deployment)["containers"]
    assert len(containers) == 1
    return containers[0]


def environment(deployment: dict) -> dict[str, object]:
    """The container's variables: the ConfigMap's, then its own (a value, or the valueFrom mapping)."""
    values: dict[str, object] = {}
    for source in container(deployment).get("envFrom", []):
        assert "configMapRef" in source and source["configMapRef"]["name"] == "partybuilding-settings", \
            f"{deployment['metadata']['name']}: envFrom other than the settings ConfigMap: {source}"
        values.update(SETTINGS)
    for variable in container(deployment).get("env", []):
        values[variable["name"]] = variable.get("value", variable.get("valueFrom"))
    return values


def selects(selector: dict, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against a pod's labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
                   "Exists": key in labels, "DoesNotExist": key not in labels}[operator]
        if not matched:
            return False
    return True


def policies_for(labels: dict) -> list[dict]:
    return [policy for policy in of_kind("NetworkPolicy") if selects(policy["spec"]["podSelector"], labels)]


def mounted_file(deployment: dict, path: str) -> tuple[str, str] | None:
    """(Secret, key) that the file ``path`` of the container comes from, or None."""
    volumes = {volume["name"]: volume for volume in pod_spec(deployment).get("volumes", [])}
    target = PurePosixPath(path)
    for mount in container(deployment).get("volumeMounts", []):
        root = PurePosixPath(mount["mountPath"])
        if target.parent != root:
            continue
        secret = volumes[mount["name"]].get("secret")
        if secret is None:
            return None
        items = secret.get("items")
        if items is None:                  # the whole Secret: any key
            return secret["secretName"], target.name
        for item in items:
            if item["path"] == target.name:
                return secret["secretName"], item["key"]
    return None


def secret_volumes(workload: dict) -> dict[str, dict]:
    return {volume["secret"]["secretName"]: volume["secret"] for volume in pod_spec(workload).get("volumes", [])
            if "secret" in volume}


# --- the schemas -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("document", [document for _, document in DOCUMENTS],
                         ids=[f"{name}:{document['kind']}/{document['metadata']['name']}"
                              for name, document in DOCUMENTS])
def test_every_document_validates_against_the_kubernetes_schemas(document):
    key = (document["apiVersion"], document["kind"])
    if key in OPERATOR_KINDS:
        pytest.skip(f"{document['kind']} is a custom resource of the {OPERATOR_KINDS[key]}: no schema in "
                    "Kubernetes's own; its fields are checked by the tests below")
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{'.'.join(map(str, error.path))}: {error.message}")
    except SchemaNotFoundError as error:
        pytest.fail(error.message)


def test_the_validation_refuses_an_unknown_field_and_a_wrong_type():
    misspelt = copy.deepcopy(DEPLOYMENTS["attendance"])
    misspelt["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/livez"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)
    wrong = copy.deepcopy(one("PodDisruptionBudget", "attendance"))
    wrong["spec"]["selector"] = "attendance"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSION, strict=True)


def test_every_object_names_its_namespace_and_every_kind_is_known():
    for name, document in DOCUMENTS:
        if document["kind"] != "Namespace":      # never the namespace of whoever applies it
            assert document["metadata"].get("namespace"), f"{name}: {document['metadata']['name']}"
        key = (document["apiVersion"], document["kind"])
        assert key in OPERATOR_KINDS or key[0] in {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2",
                                                    "networking.k8s.io/v1"}, f"{name}: {key}"


# --- the processes -----------------------------------------------------------------------------------------------

def test_a_deployment_for_exactly_the_processes_bin_run_starts():
    assert set(DEPLOYMENTS) == {process.name for process in PROCESSES}
    assert {user.process for user in BROKER_USERS} == set(DEPLOYMENTS)
    for process in PROCESSES:
        deployment = DEPLOYMENTS[process.name]
        assert container(deployment)["command"] == ["python", *process.argv], process.name
        env = environment(deployment)
        if process.name == "gateway":
            ports = {port["name"]: port["containerPort"] for port in container(deployment)["ports"]}
            assert ports == {"https": GATEWAY_HTTP_PORT, "grpc": GATEWAY_GRPC_PORT, "admin": GATEWAY_ADMIN_PORT}
            assert (env["GATEWAY_HTTP_PORT"], env["GATEWAY_GRPC_PORT"], env["GATEWAY_ADMIN_PORT"]) == \
                (str(GATEWAY_HTTP_PORT), str(GATEWAY_GRPC_PORT), str(GATEWAY_ADMIN_PORT))
        else:
            assert env["METRICS_PORT"] == str(process.metrics_port), process.name
            assert container(deployment)["ports"] == [{"name": "metrics", "containerPort": process.metrics_port}]


def test_every_workload_runs_the_projects_image_as_a_user_without_privileges():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for workload in [*DEPLOYMENTS.values(), *of_kind("CronJob")]:
        name = workload["metadata"]["name"]
        assert workload["metadata"]["namespace"] == NAMESPACE, name
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for each in spec["containers"]:
            assert each["image"] == f"partybuilding:{version}", name
            assert each["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert each["securityContext"]["readOnlyRootFilesystem"] is True, name
            mounts = {mount["mountPath"] for mount in each.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: a read-only root needs a writable /tmp"


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_every_deployment_has_probes_resources_a_budget_and_network_policies(name):
    deployment = DEPLOYMENTS[name]
    main = container(deployment)
    port = "admin" if name == "gateway" else "metrics"
    ready = next(process.ready_path for process in PROCESSES if process.name == name)    # what bin/run waits for
    for probe, path in (("startupProbe", "/livez"), ("livenessProbe", "/livez"), ("readinessProbe", ready)):
        assert main[probe]["httpGet"]["path"] == path and main[probe]["httpGet"]["port"] == port, (name, probe)
    for kind in ("requests", "limits"):
        assert set(main["resources"][kind]) == {"cpu", "memory"}, (name, kind)
    labels = pod_labels(deployment)
    assert selects(deployment["spec"]["selector"], labels)
    budgets = [budget for budget in of_kind("PodDisruptionBudget") if selects(budget["spec"]["selector"], labels)]
    assert len(budgets) == 1, f"{name}: {len(budgets)} PodDisruptionBudgets"
    policies = policies_for(labels)
    own = [policy for policy in policies if policy["spec"]["podSelector"]]
    assert own, f"{name}: no NetworkPolicy of its own"
    assert all(set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"} for policy in own), name


# --- network policies --------------------------------------------------------------------------------------------

def test_the_namespace_denies_everything_not_allowed():
    defaults = [policy for policy in of_kind("NetworkPolicy") if policy["spec"]["podSelector"] == {}]
    assert len(defaults) == 1
    assert set(defaults[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in defaults[0]["spec"] and "egress" not in defaults[0]["spec"]


def peer_kinds(rule: dict) -> set[str]:
    """What a rule's peers are: rabbitmq, mongodb, dns (kube-system on port 53), monitoring, or anywhere."""
    peers = rule.get("to", rule.get("from"))
    if not peers:
        return {"anywhere"}
    kinds = set()
    for peer in peers:
        namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        pods = peer.get("podSelector", {}).get("matchLabels", {})
        if namespace == "kube-system" and {port["port"] for port in rule.get("ports", [])} == {53}:
            kinds.add("dns")
        elif namespace == "monitoring" and "podSelector" not in peer:
            kinds.add("monitoring")
        elif namespace is None and pods.get("app.kubernetes.io/name") == "rabbitmq":
            kinds.add("rabbitmq")
        elif namespace is None and pods.get("app") == "mongodb-svc":
            kinds.add("mongodb")
        else:
            kinds.add(f"other: {peer}")
    return kinds


def rules(labels: dict, direction: str) -> list[dict]:
    return [rule for policy in policies_for(labels) for rule in policy["spec"].get(direction, [])]


def test_only_the_gateway_is_reachable_from_outside_and_its_admin_port_only_from_prometheus():
    gateway = pod_labels(DEPLOYMENTS["gateway"])
    public = [rule for rule in rules(gateway, "ingress") if peer_kinds(rule) == {"anywhere"}]
    assert [sorted(port["port"] for port in rule["ports"]) for rule in public] == [["grpc", "https"]]
    admin = [rule for rule in rules(gateway, "ingress") if {"port": "admin"} in rule.get("ports", [])]
    assert [peer_kinds(rule) for rule in admin] == [{"monitoring"}]
    for name, deployment in DEPLOYMENTS.items():
        if name != "gateway":
            assert [peer_kinds(rule) for rule in rules(pod_labels(deployment), "ingress")] == [{"monitoring"}], name
    for workload in of_kind("CronJob"):
        assert rules(pod_labels(workload), "ingress") == []


def test_processes_reach_only_the_broker_their_store_and_dns():
    for name, deployment in DEPLOYMENTS.items():
        reached = set().union(*(peer_kinds(rule) for rule in rules(pod_labels(deployment), "egress")))
        # the gateway keeps no data: it reaches no store
        assert reached == ({"rabbitmq", "dns"} if name == "gateway" else {"rabbitmq", "mongodb", "dns"}), name
    for workload in of_kind("CronJob"):
        reached = set().union(*(peer_kinds(rule) for rule in rules(pod_labels(workload), "egress")))
        assert reached == {"mongodb", "dns"}


def test_the_broker_and_the_store_admit_the_processes_that_use_them():
    rabbitmq = one("NetworkPolicy", "rabbitmq")
    mongodb = one("NetworkPolicy", "mongodb")

    def admitted(policy: dict, labels: dict, port: int) -> bool:
        return any(any("podSelector" in peer and "namespaceSelector" not in peer
                       and selects(peer["podSelector"], labels) for peer in rule.get("from", []))
                   and any(each["port"] == port for each in rule.get("ports", []))
                   for rule in policy["spec"]["ingress"])

    for name, deployment in DEPLOYMENTS.items():
        labels = pod_labels(deployment)
        assert admitted(rabbitmq, labels, 5672), name
        assert admitted(mongodb, labels, 27017) == (name != "gateway"), name
    for workload in of_kind("CronJob"):
        assert admitted(mongodb, pod_labels(workload), 27017)
        assert not admitted(rabbitmq, pod_labels(workload), 5672)


# --- scaling -----------------------------------------------------------------------------------------------------

def test_the_gateway_and_attendance_scale_on_their_own():
    autoscalers = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in of_kind("HorizontalPodAutoscaler")}
    assert set(autoscalers) == {"gateway", "attendance"}
    for name, hpa in autoscalers.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        # an apply must not reset what the autoscaler chose
        assert "replicas" not in DEPLOYMENTS[name]["spec"], name
    for name, deployment in DEPLOYMENTS.items():
        if name not in autoscalers:
            assert deployment["spec"]["replicas"] >= 1, name


# --- logins ------------------------------------------------------------------------------------------------------

def test_each_process_logs_in_to_the_broker_as_its_own_user():
    assert "@" not in SETTINGS["AMQP_URI"], "the shared URI names the host only"
    assert SETTINGS["AMQP_VHOST"] == VHOST
    for name, deployment in DEPLOYMENTS.items():
        env = environment(deployment)
        assert env["AMQP_USER"] == user_name(broker_user(name).process), name
        assert mounted_file(deployment, env["AMQP_PASSWORD_FILE"]) == (f"amqp-{name}", "password"), name
        assert "AMQP_PASSWORD" not in env and "AMQP_URI" not in {v["name"] for v in container(deployment)["env"]}


def databases_of(process) -> set[str]:
    """The databases a process opens: a service its own (its store, RPC nonces, outbox, audit log:
    ``database_name(service.name)``) and those of any further store it declares; a bare consumer its consumer's."""
    if process.name in CONSUMER_DATABASES:
        return set(CONSUMER_DATABASES[process.name])
    module, class_name = process.argv[-1].split(":")
    service = getattr(importlib.import_module(module), class_name)
    stores = [value for value in vars(service).values() if isinstance(value, MongoStore)]
    return {service.name, *(store.database_of(service.name) for store in stores)}


def test_each_service_uses_a_database_user_allowed_only_its_own_databases():
    mongodb = one("MongoDBCommunity", "mongodb")
    users = {user["name"]: user for user in mongodb["spec"]["users"]}
    prefix = SETTINGS["DB_PREFIX"]
    for process in PROCESSES:
        env = environment(DEPLOYMENTS[process.name])
        if process.name == "gateway":
            assert "MONGO_URI" not in env
            continue
        user = users[f"pb-{process.name}"]
        roles = {(role["name"], role["db"]) for role in user["roles"]}
        assert roles == {("readWrite", f"{prefix}_{database}") for database in databases_of(process)}, process.name
        # the Secret the operator writes for the user: <resource>-<auth db>-<user>
        secret = f"{mongodb['metadata']['name']}-{user['db']}-{user['name']}"
        assert env["MONGO_URI"] == {"secretKeyRef": {"name": secret, "key": "connectionString.standard"}}
    backup = users["pb-backup"]
    assert backup["roles"] == [{"name": "backup", "db": "admin"}]
    job = container(one("CronJob", "backup"))
    uri = next(variable for variable in job["env"] if variable["name"] == "MONGO_URI")
    assert uri["valueFrom"]["secretKeyRef"]["name"] == f"mongodb-admin-{backup['name']}"
    assert set(users) == {f"pb-{name}" for name in DEPLOYMENTS if name != "gateway"} | {"pb-backup"}


# --- keys and secrets ------------------------------------------------------------------------------------------

def test_every_key_a_process_reads_is_mounted_and_no_other():
    for name, deployment in DEPLOYMENTS.items():
        env = environment(deployment)
        principal = broker_user(name).service
        call_keys = secret_volumes(deployment)["partybuilding-call-keys"]
        mounted = {item["key"] for item in call_keys["items"]}
        assert mounted == {f"{each}.pub" for each in PRINCIPALS} | {f"{principal}.key"}, name
        assert mounted_file(deployment, f"{env['CALL_KEYS_DIR']}/{principal}.key") == \
            ("partybuilding-call-keys", f"{principal}.key"), name
        needed = KEY_SETTINGS.get(name, set())
        for setting in needed:
            assert mounted_file(deployment, env[setting]) is not None, f"{name}: {setting}={env[setting]} not mounted"
        keys = secret_volumes(deployment).get("partybuilding-keys", {"items": []})
        expected = {Path(env[setting]).name for setting in needed if env[setting].startswith("/keys/")}
        assert {item["key"] for item in keys["items"]} == expected, name
        operator = env.get("OPERATOR_PASSWORD")
        assert (operator is not None) == (name == "identity"), name


def readme_secrets() -> set[str]:
    """The Secrets the README's commands create (a shell for-loop's list expanded)."""
    text = README.read_text(encoding="utf-8")
    names = set(re.findall(r"create secret (?:generic|tls) ([a-z0-9.$-]+)", text))
    for variable, words, body in re.findall(r"for (\w+) in ([a-z0-9 -]+); do(.*?)done", text, re.S):
        for template in re.findall(r"create secret (?:generic|tls) ([a-z0-9.$-]+)", body):
            names |= {template.replace(f"${variable}", word) for word in words.split()}
    return {name for name in names if "$" not in name}


def test_every_secret_named_is_created_by_the_readme_or_an_operator():
    made = readme_secrets()
    mongodb = one("MongoDBCommunity", "mongodb")
    generated = {f"{mongodb['metadata']['name']}-{user['db']}-{user['name']}" for user in mongodb["spec"]["users"]}
    defined = {document["metadata"]["name"] for document in of_kind("Secret")}
    named: dict[str, bool] = {}           # Secret: optional
    for workload in [*DEPLOYMENTS.values(), *of_kind("CronJob")]:
        for each in pod_spec(workload)["containers"]:
            for variable in each.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    named[reference["name"]] = reference.get("optional", False)
            for source in each.get("envFrom", []):
                if "secretRef" in source:
                    named[source["secretRef"]["name"]] = source["secretRef"].get("optional", False)
        for secret_name, secret in secret_volumes(workload).items():
            named[secret_name] = secret.get("optional", False)
    for user in mongodb["spec"]["users"]:
        named[user["passwordSecretRef"]["name"]] = False
    cluster = one("RabbitmqCluster", "rabbitmq")
    for volume in cluster["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"]["volumes"]:
        named[volume["secret"]["secretName"]] = False
    known = made | generated | defined
    missing = sorted(name for name, optional in named.items() if not optional and name not in known)
    assert missing == [], f"Secrets nobody creates: {missing}"
    assert "partybuilding-uris" not in named, "the shared URIs are gone: each process has its own logins"


def test_tls_ends_at_the_gateway():
    gateway = DEPLOYMENTS["gateway"]
    env = environment(gateway)
    assert mounted_file(gateway, env["GATEWAY_TLS_CERT"]) == ("gateway-tls", "tls.crt")
    assert mounted_file(gateway, env["GATEWAY_TLS_KEY"]) == ("gateway-tls", "tls.key")
    # the admin listener shares the certificate: the kubelet's probes speak HTTPS to it
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container(gateway)[probe]["httpGet"]["scheme"] == "HTTPS"
    service = one("Service", "gateway")
    assert {(port["port"], port["targetPort"]) for port in service["spec"]["ports"]} == {(443, "https"),
                                                                                         (50051, "grpc")}
    assert SETTINGS["PUBLIC_BASE_URL"].startswith("https://")
    assert not [each for each in of_kind("Service") if each["metadata"]["name"] != "gateway"
                and each["spec"].get("type") in ("LoadBalancer", "NodePort")]
    monitor = one("PodMonitor", "gateway")
    assert all(endpoint["scheme"] == "https" for endpoint in monitor["spec"]["podMetricsEndpoints"])


# --- the broker and the store ----------------------------------------------------------------------------------

def test_rabbitmq_is_a_cluster_of_quorum_queues_that_loads_the_platforms_definitions():
    cluster = one("RabbitmqCluster", "rabbitmq")
    assert cluster["spec"]["replicas"] >= 3 and cluster["spec"]["replicas"] % 2 == 1
    config = dict(line.split(" = ", 1) for line in cluster["spec"]["rabbitmq"]["additionalConfig"].splitlines()
                  if " = " in line)
    assert config["default_queue_type"] == "quorum"
    assert config["cluster_partition_handling"] == "pause_minority"
    template = cluster["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"]
    broker = next(each for each in template["containers"] if each["name"] == "rabbitmq")
    pseudo = {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [broker],
                                                                    "volumes": template["volumes"]}}}}
    assert mounted_file(pseudo, config["load_definitions"]) == ("rabbitmq-definitions", "definitions.json")
    assert any(budget["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name") == "rabbitmq"
               for budget in of_kind("PodDisruptionBudget"))


def test_mongodb_is_a_replica_set():
    mongodb = one("MongoDBCommunity", "mongodb")
    assert mongodb["spec"]["type"] == "ReplicaSet" and mongodb["spec"]["members"] >= 3
    assert mongodb["spec"]["members"] % 2 == 1
    assert mongodb["spec"]["security"]["authentication"]["modes"] == ["SCRAM"]
    assert any(budget["spec"]["selector"]["matchLabels"] == {"app": "mongodb-svc"}
               for budget in of_kind("PodDisruptionBudget"))


def test_prometheus_scrapes_every_process():
    monitors = of_kind("PodMonitor")
    for name, deployment in DEPLOYMENTS.items():
        ports = {port["name"] for port in container(deployment)["ports"]}
        scraped = [endpoint for monitor in monitors if selects(monitor["spec"]["selector"], pod_labels(deployment))
                   for endpoint in monitor["spec"]["podMetricsEndpoints"]]
        assert [(endpoint["port"], endpoint["path"]) for endpoint in scraped] == \
            [("admin" if name == "gateway" else "metrics", "/metrics")], name
        assert scraped[0]["port"] in ports


# --- the image ---------------------------------------------------------------------------------------------------

def test_the_image_installs_the_project_as_a_user_without_privileges_and_bakes_in_no_secret():
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages[-1] == "python:3.11-slim"
    assert re.search(r"pip install (--\S+ )*\.(\s|$)", text), "the project is installed as a package"
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and not users[-1].startswith(("0", "root"))
    assert not re.search(r"^(COPY|ADD) .*\b(var|keys|\.pem|\.key)\b", text, re.M)
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {"var", ".venv", ".git", "**/*.pem", "**/*.key", "**/*.password"} <= ignored
