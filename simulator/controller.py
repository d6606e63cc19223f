"""The controller clusters (serve and jobs), and what ``POST /status`` answers about them.

Mirrors skypilot 0.14.1: ``sky/server/requests/payloads.py`` (``StatusBody`` and its server-side
defaults), ``sky/backends/backend_utils.py`` ``get_clusters`` (glob names, ``all_users``, the
resources, credentials and handle it adds or drops), ``sky/global_user_state.py`` ``get_clusters``
(the record; latest launched first; ``summary_response`` leaves out the creation YAML and the rest),
``sky/schemas/api/responses.py`` ``StatusResponse`` (field order; dumped with ``exclude_none``),
``sky/server/requests/serializers/encoders.py`` ``encode_status`` (``last_use``,
``status_updated_at``, ``labels``, ``handle`` and ``storage_mounts_metadata`` always present) and
``return_value_serializers.py`` ``serialize_status`` (AUTOSTOPPING reads INIT below API version 29).

Two simplifications: the handle, when asked for, is a pickled dict of the real one's size rather
than a ``CloudVmRayResourceHandle`` (so the official SDK can decode it without a cloud), and
replica clusters, which ``status`` leaves out anyway (``is_managed``), are not modelled.
"""

import base64
import fnmatch
import pickle
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from simulator import wire

# sky/utils/common.py: controllers are named after the API server's user hash.
SERVE_CONTROLLER_PREFIX = "sky-serve-controller-"
JOBS_CONTROLLER_PREFIX = "sky-jobs-controller-"
# sky/serve/constants.py CONTROLLER_AUTOSTOP: idle 10 minutes, then stop (not down).
AUTOSTOP_MINUTES = 10
# First API version that knows AUTOSTOPPING (return_value_serializers._needs_autostopping_compat).
MIN_AUTOSTOPPING_API_VERSION = 29
CONTROLLER_AGE_SECONDS = 3 * 86400
# A controller on AWS as CONTROLLER_RESOURCES (cpus 4+, memory 8+) launches it, with the load
# balancers' port range open and the default 256 GB disk.
CLOUD, REGION, CPUS, MEMORY = "AWS", "us-east-1", "4+", "8+"
RESOURCES_STR = "1x(cpus=4, mem=16, m6i.xlarge, ...)"
RESOURCES_STR_FULL = "1x(cpus=4, mem=16, m6i.xlarge, disk=256, ports=['30001-30020'])"
CLUSTER_HASH = "4c1e7a0f-92d3-4b8e-a6f5-0d2c9b7e1a35"


@dataclass(frozen=True)
class ControllerKind:
    """What tells the two controllers apart on the wire: name, launch command and resources."""

    name: str
    command: str
    cloud: str
    region: str
    resources_str: str
    resources_str_full: str
    cluster_hash: str


SERVE = ControllerKind(
    wire.SERVE_CONTROLLER_NAME,
    "sky serve up service.yaml",
    CLOUD,
    REGION,
    RESOURCES_STR,
    RESOURCES_STR_FULL,
    CLUSTER_HASH,
)
# The jobs controller (sky/jobs/constants.py CONTROLLER_RESOURCES: cpus 4+, memory 4x, a 50 GB disk)
# on AWS; it keeps the pools' workers as the serve controller keeps the replicas.
JOBS = ControllerKind(
    wire.JOBS_CONTROLLER_NAME,
    "sky jobs pool apply pool.yaml",
    CLOUD,
    REGION,
    "1x(cpus=4, mem=16, m6i.xlarge, ...)",
    "1x(cpus=4, mem=16, m6i.xlarge, disk=50)",
    "9d2b5c7e-1f4a-4e8b-b3c6-7a0e5d9f2c18",
)
# The controller's creation YAML carries the service's environment: a client must never ask for it.
CREATION_YAML_SECRET = "hf_simulated_controller_secret"
# What include_credentials adds: the controller's SSH private key itself.
PRIVATE_KEY_MARK = "SIMULATED-CONTROLLER-PRIVATE-KEY"
SIMULATED_HANDLE = base64.b64encode(
    pickle.dumps({"simulated_cluster_handle": SERVE_CONTROLLER_PREFIX, "padding": "x" * 8000}, protocol=4)
).decode("ascii")


class ControllerState(StrEnum):
    """Whether the serve controller cluster exists, and its ClusterStatus when it does."""

    ABSENT = "absent"
    INIT = "INIT"
    UP = "UP"
    AUTOSTOPPING = "AUTOSTOPPING"
    STOPPED = "STOPPED"

    @property
    def accessible(self) -> bool:
        """``backend_utils.is_controller_accessible``: a missing or STOPPED controller is not."""
        return self not in {ControllerState.ABSENT, ControllerState.STOPPED}


@dataclass(frozen=True)
class ClusterQuery:
    """A ``POST /status`` body, with ``StatusBody``'s server-side defaults for what it leaves out."""

    cluster_names: tuple[str, ...] | None = None
    refresh: str = "NONE"
    all_users: bool = True
    include_credentials: bool = True
    summary_response: bool = False
    include_handle: bool = True


class Controller:
    """A controller's state (the serve controller's unless ``kind`` says otherwise), settable while
    the simulator serves."""

    def __init__(self, state: ControllerState, launched_at: int, kind: ControllerKind = SERVE) -> None:
        self._lock = threading.Lock()
        self._state = state
        self.launched_at = launched_at
        self.kind = kind

    @property
    def state(self) -> ControllerState:
        with self._lock:
            return self._state

    def set(self, state: ControllerState) -> None:
        with self._lock:
            self._state = ControllerState(state)

    def records(self, query: ClusterQuery, user_id: str) -> list[dict[str, Any]]:
        """The clusters ``status`` returns for ``query`` from ``user_id``: the controller or nothing."""
        state = self.state
        name = self.kind.name
        if state is ControllerState.ABSENT or not _selected(name, query.cluster_names):
            return []
        # The controller belongs to the API server's own user: only all_users (or that user) sees it.
        if not query.all_users and user_id != wire.SERVER_USER_HASH:
            return []
        return [_record(state, query, self.launched_at, self.kind)]


def compatible(records: list[dict[str, Any]], api_version: int | None) -> list[dict[str, Any]]:
    """``serialize_status``: a client older than API version 29 gets AUTOSTOPPING as INIT."""
    if api_version is None or api_version >= MIN_AUTOSTOPPING_API_VERSION:
        return records
    return [
        {**record, "status": "INIT"} if record["status"] == ControllerState.AUTOSTOPPING else record
        for record in records
    ]


def _selected(name: str, patterns: tuple[str, ...] | None) -> bool:
    # SQLite GLOB: case-sensitive, * ? and [...] as in fnmatchcase; other names must match exactly.
    return patterns is None or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _record(
    state: ControllerState, query: ClusterQuery, launched_at: int, kind: ControllerKind
) -> dict[str, Any]:
    """One cluster as ``encode_status`` writes it: StatusResponse's fields in order, None left out."""
    full = not query.summary_response
    name = kind.name
    fields: list[tuple[str, Any]] = [
        ("name", name),
        ("launched_at", launched_at),
        ("handle", SIMULATED_HANDLE if query.include_handle else None),
        ("last_use", f"{kind.command} -n {name}" if full else None),
        ("status", state.value),
        ("autostop", AUTOSTOP_MINUTES),
        ("to_down", False),
        ("metadata", {} if full else None),
        ("cluster_hash", kind.cluster_hash),
        ("cluster_ever_up", True),
        ("status_updated_at", launched_at + 420 if full else None),
        ("user_hash", wire.SERVER_USER_HASH),
        ("user_name", wire.SERVER_USER_NAME),
        ("workspace", "default"),
        ("last_creation_yaml", _creation_yaml() if full else None),
        ("last_creation_command", kind.command if full else None),
        ("is_managed", False),
        ("last_event", "Cluster is UP." if full else None),
        ("init_kind", "launching" if state is ControllerState.INIT else None),
        ("resources_str", kind.resources_str),
        ("resources_str_full", kind.resources_str_full),
        ("credentials", _credentials() if query.include_credentials else None),
        ("nodes", 1),
        ("cloud", kind.cloud),
        ("region", kind.region),
        ("cpus", CPUS),
        ("memory", MEMORY),
        ("labels", {}),
        ("cluster_name_on_cloud", f"{name}-{wire.SERVER_USER_HASH[:4]}" if full else None),
        ("priority", 0),
        ("links", {} if full else None),
    ]
    record = {key: value for key, value in fields if value is not None}
    # encode_status's additions, in its order: a key already present keeps its place.
    record.setdefault("last_use", "")
    record.setdefault("status_updated_at", 0)
    record.setdefault("handle", wire.EMPTY_PICKLED_VALUE)
    record["storage_mounts_metadata"] = wire.EMPTY_PICKLED_VALUE
    return record


def _creation_yaml() -> str:
    return (
        "name: sky-serve-controller\n"
        "resources:\n  cpus: 4+\n  memory: 8+\n  ports: 30001-30020\n"
        f"envs:\n  HF_TOKEN: {CREATION_YAML_SECRET}\n"
    )


def _credentials() -> dict[str, Any]:
    key_path = f"~/.sky/clients/{wire.SERVER_USER_HASH}/ssh/sky-key"
    return {
        "ssh_user": "ubuntu",
        "ssh_private_key": key_path,
        "ssh_control_name": CLUSTER_HASH[:10],  # the same key for both controllers
        "ssh_private_key_content": (
            f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PRIVATE_KEY_MARK}\n-----END OPENSSH PRIVATE KEY-----\n"
        ),
    }
