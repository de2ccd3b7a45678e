"""The request body limit is defined once (rasa_server/limits.py); every
proxy in front of the Rasa servers applies the same one."""

from pathlib import Path

import yaml

from launch.cluster import nginx_config
from launch.paths import PROJECT_DIR
from rasa_server.limits import MAX_REQUEST_BODY_BYTES, nginx_size


def test_nginx_sizes_are_written_as_nginx_reads_them() -> None:
    assert nginx_size(256 * 1024) == "256k"
    assert nginx_size(1000) == "1000"


def test_the_cluster_nginx_refuses_bodies_above_the_rasa_servers_limit(tmp_path: Path) -> None:
    config = nginx_config(tmp_path, 1, 2, ["127.0.0.1:3"], ["127.0.0.1:4"])
    assert f"client_max_body_size {nginx_size(MAX_REQUEST_BODY_BYTES)};" in config


def test_the_kubernetes_ingress_has_the_same_limit() -> None:
    ingress = yaml.safe_load((PROJECT_DIR / "deploy" / "k8s" / "base" / "ingress.yaml").read_text())
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == nginx_size(MAX_REQUEST_BODY_BYTES)
