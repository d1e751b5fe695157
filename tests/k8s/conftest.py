"""Fixtures of the Kubernetes API tests: a real etcd + kube-apiserver
(module scope) and the client driver; see lib/k8s_cluster.py."""
import os

import pytest

from lib.k8s_cluster import ETCD, ApiServer, Driver, Etcd, apiserver_binary, make_pki


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not os.path.exists(ETCD):
        pytest.fail(f"{ETCD} missing: apt-get install etcd-server (make deps)")
    binary = apiserver_binary()
    d = str(tmp_path_factory.mktemp("k8s"))
    make_pki(d)
    etcd = Etcd(d).start()
    api = ApiServer(d, binary, etcd)
    try:
        api.start()
        yield api
    finally:
        api.stop()
        etcd.stop()


@pytest.fixture
def driver():
    made = []

    def start(*args, **kw):
        made.append(Driver(*args, **kw))
        return made[-1]
    yield start
    for d in made:
        if d.proc.poll() is None:
            d.stop()
