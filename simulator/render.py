"""Service records in SkyServe 0.14.1's wire shape: the dicts inside ``return_value``.

Key sets and order follow skypilot 0.14.1 ``serve_state._get_service_from_row``,
``serve_utils._get_service_status`` (adds pool_yaml, target_num_replicas, replica_info),
``server/impl.py status`` (adds endpoint, user_name) and ``ReplicaInfo.to_info_dict``.
"""

from typing import Any

from simulator import wire
from simulator.state import Identity, Policy, Replica, ReplicaStatus, Service


def _replica_endpoint(service: str, replica: Replica, base: str | None) -> str | None:
    # No endpoint until the head node has an address, nor once the cluster is gone.
    if not replica.has_cluster or replica.status == ReplicaStatus.PROVISIONING:
        return None
    if base is not None:
        return f"{base}/replicas/{service}/{replica.replica_id}"
    return f"http://{replica.ip}:{replica.resources.port}"


def replica_dict(service: str, replica: Replica, base: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "replica_id": replica.replica_id,
        "name": f"{service}-{replica.replica_id}",
        "status": replica.status.value,
        "version": replica.version,
        "replica_info_version": wire.REPLICA_INFO_VERSION,
        "endpoint": _replica_endpoint(service, replica, base),
        "is_spot": replica.is_spot,
        "launched_at": replica.launched_at,
    }
    if replica.status == ReplicaStatus.PROVISIONING and replica.status_detail is not None:
        out["status_detail"] = replica.status_detail
    # Before the cluster exists (and after it is gone) these keys are absent, not null.
    if replica.has_cluster:
        res, display = replica.resources, replica.display
        out["cloud"] = res.shape.cloud
        out["region"] = res.region
        out["resources_str"] = display.resources_str
        out["resources_str_full"] = display.resources_str_full
        out["infra"] = display.infra
    out["handle"] = None
    return out


def task_yaml(identity: Identity, policy: Policy, version: int) -> str:
    """The stored task YAML. It carries a secret on purpose: consumers must never export it."""
    scaling = f"    min_replicas: {policy.min_replicas}\n"
    if policy.target_qps is not None:
        scaling += (
            f"    max_replicas: {policy.max_replicas}\n    target_qps_per_replica: {policy.target_qps}\n"
        )
    image = f"  image_id: {identity.image_id}\n" if identity.image_id else ""
    demand = f"accelerators: {identity.accelerators_yaml}" if identity.accelerators_yaml else "cpus: 8+"
    return (
        f"name: {identity.name}\n"
        f"resources:\n  {demand}\n  ports: {identity.port}\n{image}"
        f"num_nodes: {identity.nodes}\n"
        f"envs:\n  MODEL_NAME: {identity.model}\n  HF_TOKEN: hf_simulated_secret\n"
        f"  SERVICE_VERSION: '{version}'\n"
        f"service:\n  readiness_probe: /health\n  replica_policy:\n{scaling}"
        f"run: |\n  vllm serve $MODEL_NAME --port {identity.port}\n"
    )


def _service_endpoint(service: Service, base: str | None) -> str:
    identity = service.identity
    if base is not None:
        return f"{base}/services/{identity.name}"
    scheme = "https" if identity.tls else "http"
    return f"{scheme}://{identity.lb_ip}:{identity.load_balancer_port}"


def _active_versions(service: Service) -> list[int]:
    return sorted({r.version for r in service.replicas if r.status == ReplicaStatus.READY})


def service_dict(service: Service, base: str | None) -> dict[str, Any]:
    identity = service.identity
    return {
        "name": identity.name,
        "controller_job_id": identity.controller_job_id,
        "controller_port": identity.controller_port,
        "load_balancer_port": identity.load_balancer_port,
        "status": service.status.value,
        "uptime": service.uptime,
        "policy": service.policy.text(),
        "version": service.version,
        "active_versions": _active_versions(service),
        "requested_resources_str": identity.accelerators_requested,
        "load_balancing_policy": identity.load_balancing_policy,
        "tls_encrypted": identity.tls,
        "pool": False,
        "controller_pid": identity.controller_pid,
        "controller_ip": None,
        "hash": identity.service_hash,
        "entrypoint": f"sky serve up service.yaml -n {identity.name} -y",
        "user_hash": identity.user_hash,
        "yaml_content": task_yaml(identity, service.policy, service.version),
        "pool_yaml": "",
        "target_num_replicas": service.target if service.target_visible else None,
        "replica_info": [replica_dict(identity.name, r, base) for r in service.replicas],
        "endpoint": _service_endpoint(service, base),
        "user_name": identity.user_name,
    }
