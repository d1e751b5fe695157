"""HTTP spans from real servers and clients, traced by the real BPF programs."""
import json
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from lib.bpfmaps import conn_entries, leaked_conn_entries, leaked_dup_entries, leaked_fd_lists
from lib.peers import PEERS, curl, run_client
from lib.tracer import ROOT, SKEW, Tracer




def svc():
    return "svc-" + uuid.uuid4().hex[:8]


def server_spans(tracer, service, count=1, name=None, timeout=15):
    return tracer.wait_for(lambda s: s.kind == 2 and s.service == service
                           and (name is None or s.name == name), count, timeout)


def test_python_server_and_curl_client_are_one_trace(tracer, server_factory):
    name = svc()
    srv = server_factory("python", service=name)
    assert curl(srv.url + "/hello", "-A", "probe-agent/1.0") == 200
    (s,) = server_spans(tracer, name, name="GET /hello")
    assert s.attrs["http.request.method"] == "GET"
    assert s.attrs["http.response.status_code"] == 200
    assert s.attrs["url.path"] == "/hello"
    assert s.attrs["url.scheme"] == "http"
    assert s.attrs["http.route"] == "/hello"
    assert s.attrs["server.port"] == srv.port
    assert s.attrs["client.address"] == "127.0.0.1"
    assert s.attrs["user_agent.original"] == "probe-agent/1.0"
    assert s.status == 0
    assert s.resource["process.pid"] == srv.proc.pid
    assert s.resource["telemetry.sdk.name"] == "ebpftrace"
    assert 0 < s.end - s.start < 5e9
    # curl is traced too: its client span is the server span's parent.
    (c,) = tracer.wait_for(lambda x: x.kind == 3 and x.span_id == s.parent)
    assert c.trace_id == s.trace_id
    assert c.service == "curl"
    assert c.name == "GET"
    assert c.attrs["url.full"] == f"http://127.0.0.1:{srv.port}/hello"
    # a syscall exit on one CPU may be stamped after the peer's (SKEW)
    assert c.start <= s.start + SKEW and s.end <= c.end + SKEW


def test_request_through_a_proxy_names_the_original_client(tracer, server_factory):
    """Behind a proxy (an ingress, a load balancer) the semantic conventions
    take client.address, server.address and url.scheme from what the proxy
    forwards; network.peer.address stays the socket's peer."""
    name = svc()
    srv = server_factory("python", service=name)
    assert curl(srv.url + "/hello?via=xff", "-H", "X-Forwarded-For: 203.0.113.7, 10.0.0.1",
                "-H", "X-Forwarded-Host: shop.example.com",
                "-H", "X-Forwarded-Proto: https") == 200
    assert curl(srv.url + "/hello?via=fwd", "-H",
                'Forwarded: for="[2001:db8::17]:4711";proto=http;host=a.example:8443') == 200
    x, f = sorted(server_spans(tracer, name, name="GET /hello", count=2),
                  key=lambda sp: sp.start)
    assert x.attrs["client.address"] == "203.0.113.7"
    assert x.attrs["network.peer.address"] == "127.0.0.1"
    assert x.attrs["server.address"] == "shop.example.com"
    assert x.attrs["server.port"] == 443
    assert x.attrs["url.scheme"] == "https"
    assert f.attrs["client.address"] == "2001:db8::17"
    assert f.attrs["server.address"] == "a.example"
    assert f.attrs["server.port"] == 8443
    assert f.attrs["url.scheme"] == "http"


def test_jdk_server_route_template_and_service_name(tracer, server_factory):
    srv = server_factory("jdk")
    pid = srv.proc.pid
    assert curl(srv.url + "/users/4711") == 200
    (s,) = tracer.wait_for(lambda x: x.kind == 2 and x.resource.get("process.pid") == pid)
    assert s.name == "GET /users/{id}"
    assert s.attrs["url.path"] == "/users/4711"
    assert s.attrs["http.route"] == "/users/{id}"
    assert s.service == "JdkServer"  # the main class, not "java"


BOOT_LAUNCHER = r"""
package org.springframework.boot.loader.launch;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;

/* Stands in for Spring Boot's launcher: what the tracer sees is the command
 * line and the unpacked jar's directory, as a buildpack image runs it. */
public class JarLauncher {
    public static void main(String[] args) throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.createContext("/", ex -> {
            byte[] b = "ok".getBytes();
            ex.sendResponseHeaders(ex.getRequestMethod().equals("DELETE") ? 405 : 200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        s.start();
        System.out.println(s.getAddress().getPort());
        System.out.flush();
    }
}
"""


def unpacked_boot_app(tmp_path, maven, env=None, files=None):
    """A Spring Boot jar unpacked as a buildpack image runs it, started by
    its launcher (BOOT_LAUNCHER); with maven, it has a pom.properties and
    the test app's compiled OwnerController under BOOT-INF/classes; files
    (path under the jar's root, which is the working directory: text) are
    written before it starts. Returns the JVM and its port."""
    src = tmp_path / "JarLauncher.java"
    src.write_text(BOOT_LAUNCHER)
    subprocess.run(["javac", "-d", str(tmp_path), str(src)], check=True, timeout=120)
    (tmp_path / "META-INF").mkdir()
    (tmp_path / "META-INF" / "MANIFEST.MF").write_text(
        "Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.launch.Ja"
        "rLauncher\r\nStart-Class: org.springframework.samples.petclinic.PetClinicAp\r\n"
        " plication\r\n\r\n")
    if maven:
        pom = tmp_path / "META-INF" / "maven" / "org.springframework.samples" / "spring-petclinic"
        pom.mkdir(parents=True)
        (pom / "pom.properties").write_text("artifactId=spring-petclinic\n"
                                            "groupId=org.springframework.samples\n")
        pkg = tmp_path / "BOOT-INF" / "classes" / "org" / "springframework" / "samples" / "petclinic"
        pkg.mkdir(parents=True)
        shutil.copy(os.path.join(ROOT, "tests", "fuzz", "corpus", "fuzz_jar_routes",
                                 "owner_controller.class"), pkg / "OwnerController.class")
    for path, text in (files or {}).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    p = subprocess.Popen(["java", "-Xshare:auto", "org.springframework.boot.loader.launch.JarLauncher"],
                         cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, **(env or {})))
    return p, int(p.stdout.readline())


@pytest.mark.parametrize("maven", [True, False], ids=["artifactId", "Start-Class"])
def test_spring_boot_run_unpacked_is_named_by_its_jar_directory(tracer, tmp_path, maven):
    """`java org.springframework.boot.loader.launch.JarLauncher` in the
    unpacked jar (Paketo and layered images) names only the launcher: the
    service is the app's Maven artifactId, else its Start-Class. The
    routes are the mappings of its BOOT-INF/classes (here the test app's
    compiled OwnerController, with the artifactId), else the templated
    path."""
    p, port = unpacked_boot_app(tmp_path, maven)
    try:
        assert curl(f"http://127.0.0.1:{port}/owners/7") == 200
        (s,) = tracer.wait_for(lambda x: x.kind == 2 and x.resource.get("process.pid") == p.pid)
        assert s.service == ("spring-petclinic" if maven else "PetClinicApplication"), s
        assert s.name == ("GET /owners/{ownerId}" if maven else "GET /owners/{id}"), s
        assert s.attrs["http.route"] == s.name[4:]
    finally:
        p.kill()
        p.wait()


def test_routes_under_a_context_path(tracer, tmp_path):
    """server.servlet.context-path set in the environment (as a Deployment
    would): the routes are under it; a path outside it is templated."""
    p, port = unpacked_boot_app(tmp_path, True, {"SERVER_SERVLET_CONTEXT_PATH": "/shop/"})
    try:
        for path in ("/shop/owners/7", "/owners/7"):
            assert curl(f"http://127.0.0.1:{port}{path}") == 200
        got = tracer.wait_for(lambda x: x.kind == 2 and x.resource.get("process.pid") == p.pid,
                              count=2)
        assert sorted(s.name for s in got) == ["GET /owners/{id}", "GET /shop/owners/{ownerId}"]
    finally:
        p.kill()
        p.wait()


APP_YML = """\
server:
  port: 8080
  servlet:
    context-path: /base
---
spring:
  config:
    activate:
      on-profile: prod
server:
  servlet:
    context-path: /prod/
"""


@pytest.mark.parametrize("case", ["yaml", "profile", "working-dir", "placeholder"])
def test_context_path_from_spring_config_files(tracer, tmp_path, case):
    """The context path as Spring Boot reads its config files: the app's
    application.yml (its documents for the active profiles), and over it
    the working directory's config/application-{profile}.properties (a
    ConfigMap mounted there), or the app's application.properties, whose
    ${app.base:/dflt} is the environment's APP_BASE."""
    files = {"BOOT-INF/classes/application.yml": APP_YML}
    if case == "working-dir":
        files["config/application-prod.properties"] = "server.servlet.contextPath=/ops\n"
    if case == "placeholder":
        files["BOOT-INF/classes/application.properties"] = (
            "server.servlet.context-path=${app.base:/dflt}\n")
    prefix = {"yaml": "/base", "profile": "/prod", "working-dir": "/ops",
              "placeholder": "/from-env"}[case]
    env = {"yaml": {}, "placeholder": {"APP_BASE": "/from-env/"}}.get(
        case, {"SPRING_PROFILES_ACTIVE": "default,prod"})
    p, port = unpacked_boot_app(tmp_path, True, env, files)
    try:
        assert curl(f"http://127.0.0.1:{port}{prefix}/owners/7") == 200
        (s,) = tracer.wait_for(lambda x: x.kind == 2 and x.resource.get("process.pid") == p.pid)
        assert s.name == f"GET {prefix}/owners/{{ownerId}}", s
    finally:
        p.kill()
        p.wait()


def test_spring_boot_servlet_path_and_static_resources(tracer, tmp_path):
    """A Spring Boot MVC app (spring-boot and spring-webmvc in BOOT-INF/lib)
    with spring.mvc.servlet.path=/app: its routes are under /app, named
    without it, as the Java agent names them; a path under /app that no
    mapping takes went to Spring's static resource handler, /**; one
    outside /app is templated."""
    files = {"BOOT-INF/classes/application.properties": "spring.mvc.servlet.path=/app\n",
             "BOOT-INF/lib/spring-boot-3.5.0.jar": "",
             "BOOT-INF/lib/spring-webmvc-6.2.12.jar": ""}
    p, port = unpacked_boot_app(tmp_path, True, None, files)
    try:
        for path in ("/app/owners/7", "/app/css/site.css", "/owners/7"):
            assert curl(f"http://127.0.0.1:{port}{path}") == 200
        got = tracer.wait_for(lambda x: x.kind == 2 and x.resource.get("process.pid") == p.pid,
                              count=3)
        assert sorted(s.name for s in got) == ["GET /**", "GET /owners/{id}",
                                               "GET /owners/{ownerId}"], got
    finally:
        p.kill()
        p.wait()


def test_spring_boot_webflux_fallback(tracer, tmp_path):
    """A Spring Boot WebFlux app (spring-webflux, no spring-webmvc, among
    its libraries): as the Java agent names them, a path no mapping takes
    is /** (the static resource handler), and a method its path's
    mappings do not accept (405) has no route: its span is named by the
    method alone."""
    files = {"BOOT-INF/lib/spring-boot-3.5.0.jar": "",
             "BOOT-INF/lib/spring-webflux-6.2.12.jar": ""}
    p, port = unpacked_boot_app(tmp_path, True, None, files)
    try:
        assert curl(f"http://127.0.0.1:{port}/owners/7") == 200
        assert curl(f"http://127.0.0.1:{port}/nothing/here") == 200
        assert curl("-X", "DELETE", f"http://127.0.0.1:{port}/owners/7") == 405
        got = tracer.wait_for(lambda x: x.kind == 2 and x.resource.get("process.pid") == p.pid,
                              count=3)
        assert sorted(s.name for s in got) == ["DELETE", "GET /**", "GET /owners/{ownerId}"], got
        (d,) = [s for s in got if s.name == "DELETE"]
        assert "http.route" not in d.attrs, d.attrs
    finally:
        p.kill()
        p.wait()


def compile_launcher(tmp_path, dest, cls):
    """BOOT_LAUNCHER as the class cls ("com.example.App"), into dest."""
    package, name = cls.rsplit(".", 1)
    src = tmp_path / f"{name}.java"
    src.write_text(BOOT_LAUNCHER.replace("package org.springframework.boot.loader.launch;",
                                         f"package {package};")
                   .replace("public class JarLauncher", f"public class {name}"))
    subprocess.run(["javac", "-d", str(dest), str(src)], check=True, timeout=120)


def served_span(tracer, p, path):
    """GET path of the JVM p (which prints its port first): its server
    span. p is killed after."""
    try:
        port = int(p.stdout.readline())
        assert curl(f"http://127.0.0.1:{port}{path}") == 200
        (s,) = tracer.wait_for(lambda x: x.kind == 2 and x.resource.get("process.pid") == p.pid)
        return s
    finally:
        p.kill()
        p.wait()


def test_quarkus_fast_jar_layout(tracer, tmp_path):
    """Quarkus runs `java -jar quarkus-app/quarkus-run.jar`, a launcher
    with none of the app's classes; the app is the jar in quarkus-app/app/:
    the service is named by it, and its JAX-RS routes (tests/peers/
    route_jars: jaxrs.jar, under its @ApplicationPath /api) name the
    spans."""
    app = tmp_path / "quarkus-app"
    (app / "app").mkdir(parents=True)
    (app / "lib").mkdir()
    compile_launcher(tmp_path, tmp_path / "classes", "io.quarkus.bootstrap.runner.QuarkusEntryPoint")
    (tmp_path / "manifest.txt").write_text(
        "Main-Class: io.quarkus.bootstrap.runner.QuarkusEntryPoint\n")
    subprocess.run(["jar", "cfm", str(app / "quarkus-run.jar"), str(tmp_path / "manifest.txt"),
                    "-C", str(tmp_path / "classes"), "."], check=True, timeout=120)
    shutil.copy(os.path.join(ROOT, "tests", "fuzz", "corpus", "fuzz_jar_routes", "jaxrs.jar"),
                app / "app" / "shop-service-1.0.0-SNAPSHOT.jar")
    p = subprocess.Popen(["java", "-Xshare:auto", "-jar", "quarkus-app/quarkus-run.jar"],
                         cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    s = served_span(tracer, p, "/api/orders/A7")
    assert s.service == "shop-service", s
    assert s.name == "GET /api/orders/{orderId}", s


def test_jib_image_layout(tracer, tmp_path):
    """A Jib image runs `java -cp @/app/jib-classpath-file
    @/app/jib-main-class-file`, the class path /app/resources:/app/classes:
    /app/libs/*: the argument files are read as the launcher reads them,
    so the service is the main class, and the routes are those of the
    classes directory, under the context path of the resources'
    application.properties."""
    app = tmp_path / "app"
    compile_launcher(tmp_path, app / "classes", "com.example.App")
    pkg = app / "classes" / "org" / "springframework" / "samples" / "petclinic"
    pkg.mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "tests", "fuzz", "corpus", "fuzz_jar_routes",
                             "owner_controller.class"), pkg / "OwnerController.class")
    (app / "resources").mkdir()
    (app / "resources" / "application.properties").write_text(
        "server.servlet.context-path=/jib\n")
    (app / "libs").mkdir()
    (app / "jib-classpath-file").write_text(f"{app}/resources:{app}/classes:{app}/libs/*\n")
    (app / "jib-main-class-file").write_text("com.example.App\n")
    p = subprocess.Popen(["java", "-Xshare:auto", "-cp", f"@{app}/jib-classpath-file",
                          f"@{app}/jib-main-class-file"], stdout=subprocess.PIPE, text=True)
    s = served_span(tracer, p, "/jib/owners/7")
    assert s.service == "App", s
    assert s.name == "GET /jib/owners/{ownerId}", s


def test_routes_from_jar_off(tmp_path):
    """--http-routes-from-jar=false: the same app's path is templated."""
    p, port = unpacked_boot_app(tmp_path, True)
    t = Tracer("--pid", str(p.pid), "--http-routes-from-jar=false").start()
    try:
        assert curl(f"http://127.0.0.1:{port}/owners/7") == 200
        (s,) = t.wait_for(lambda x: x.kind == 2)
        assert s.name == "GET /owners/{id}", s
    finally:
        t.stop()
        p.kill()
        p.wait()


def test_go_server_500_is_error(tracer, server_factory):
    name = svc()
    srv = server_factory("go", service=name)
    assert curl(srv.url + "/fail") == 500
    (s,) = server_spans(tracer, name)
    assert s.name == "GET /fail"
    assert s.attrs["http.response.status_code"] == 500
    assert s.status == 2
    assert s.attrs["error.type"] == "500"


def test_client_4xx_is_error_server_4xx_is_not(tracer, server_factory):
    name = svc()
    srv = server_factory("python", service=name)
    assert curl(srv.url + "/users/notanumber") == 404
    (s,) = server_spans(tracer, name)
    assert s.status == 0
    (c,) = tracer.wait_for(lambda x: x.kind == 3 and x.span_id == s.parent)
    assert c.status == 2


def test_two_tier_one_trace(tracer, server_factory):
    back, front = svc(), svc()
    b = server_factory("jdk", service=back)
    f = server_factory("python", downstream=b.url, service=front)
    assert curl(f.url + "/chain") == 200
    (fs,) = server_spans(tracer, front, name="GET /chain")
    (bs,) = server_spans(tracer, back, name="GET /hello")
    (fc,) = tracer.wait_for(lambda x: x.kind == 3 and x.service == front)
    assert fc.trace_id == fs.trace_id == bs.trace_id
    assert fc.parent == fs.span_id          # outbound call is a child of the request
    assert bs.parent == fc.span_id          # backend server span under the client span
    assert fs.start <= fc.start <= fs.end and fs.start <= fc.end <= fs.end
    # across processes the stamps may cross by a preempted syscall exit
    assert fc.start <= bs.start + SKEW and bs.end <= fc.end + SKEW
    assert bs.start <= bs.end


def test_ipv6_and_dual_stack_one_trace(tracer, server_factory):
    """curl over IPv6 to a server on ::1, which calls over IPv4 a server on
    the dual-stack wildcard (::, the default of JVMs and many others): the
    peers read as the sockets have them, ::1, and 127.0.0.1 rather than
    ::ffff:127.0.0.1; the 4-tuple links still make one trace."""
    back, front = svc(), svc()
    b = server_factory("python", service=back, env={"BIND_ADDR": "::"})
    f = server_factory("python", downstream=b.url, service=front,
                       env={"BIND_ADDR": "::1"})
    front_url = f"http://[::1]:{f.port}"
    assert curl("-g", front_url + "/chain") == 200
    (fs,) = server_spans(tracer, front, name="GET /chain")
    (bs,) = server_spans(tracer, back, name="GET /hello")
    (fc,) = tracer.wait_for(lambda x: x.kind == 3 and x.service == front)
    (cc,) = tracer.wait_for(lambda x: x.kind == 3 and x.span_id == fs.parent)
    assert cc.service == "curl" and cc.trace_id == fs.trace_id
    assert cc.attrs["url.full"] == front_url + "/chain"
    assert cc.attrs["server.address"] == "::1"
    assert cc.attrs["network.peer.address"] == "::1"
    assert fs.attrs["client.address"] == "::1"
    assert fs.attrs["server.address"] == "::1"
    assert fs.attrs["server.port"] == f.port
    assert fc.parent == fs.span_id and fc.trace_id == fs.trace_id
    assert fc.attrs["network.peer.address"] == "127.0.0.1"
    assert bs.parent == fc.span_id and bs.trace_id == fs.trace_id
    assert bs.attrs["client.address"] == "127.0.0.1"
    assert bs.attrs["network.peer.address"] == "127.0.0.1"
    assert bs.attrs["server.port"] == fc.attrs["server.port"] == b.port


def sh(*cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, f"{' '.join(cmd)}: {out.stderr.strip()}"


@pytest.fixture
def service_vip():
    """A Kubernetes Service on this host, as kube-proxy's nftables mode
    makes one: connections to VIP:80 are DNATed to a backend address. The
    backend's address is on lo and the route to the VIP says it is the
    source, so both ends are the host's but not loopback (as pods' are).
    Yields (vip, backend address, dnat(port): point the VIP at it)."""
    vip, backend, table = "10.96.201.10", "10.201.0.10", "ebpftrace_test_svc"

    def clean():
        for cmd in (("nft", "delete", "table", "ip", table),
                    ("ip", "route", "del", vip + "/32", "dev", "lo"),
                    ("ip", "addr", "del", backend + "/32", "dev", "lo")):
            subprocess.run(cmd, capture_output=True)
    clean()  # what a killed run left
    sh("ip", "addr", "add", backend + "/32", "dev", "lo")
    sh("ip", "route", "add", vip + "/32", "dev", "lo", "src", backend)
    sh("nft", "add", "table", "ip", table)
    sh("nft", "add", "chain", "ip", table, "out",
       "{ type nat hook output priority -100; }")

    def dnat(port):
        sh("nft", "add", "rule", "ip", table, "out", "ip", "daddr", vip,
           "tcp", "dport", "80", "dnat", "to", f"{backend}:{port}")
    try:
        yield vip, backend, dnat
    finally:
        clean()


def test_call_through_a_service_vip_is_one_trace(tracer, server_factory,
                                                 service_vip):
    """front calls back through a Service's virtual IP: the DNAT leaves the
    client's socket with the VIP as its peer and the server's with the
    backend address as its own, so the two tuples do not mirror; only the
    client's end (address and port) is the same on both. Still one trace:
    curl -> front -> its client span -> back's server span."""
    vip, backend, dnat = service_vip
    back, front = svc(), svc()
    b = server_factory("python", service=back, env={"BIND_ADDR": backend})
    dnat(b.port)
    f = server_factory("python", downstream=f"http://{vip}", service=front)
    assert curl(f.url + "/chain") == 200
    (fs,) = server_spans(tracer, front, name="GET /chain")
    (bs,) = server_spans(tracer, back, name="GET /hello")
    (fc,) = tracer.wait_for(lambda x: x.kind == 3 and x.service == front)
    assert fc.parent == fs.span_id and fc.trace_id == fs.trace_id
    assert fc.attrs["network.peer.address"] == vip
    assert fc.attrs["server.port"] == 80
    assert bs.attrs["network.peer.address"] == backend
    assert bs.attrs["server.port"] == b.port
    assert bs.parent == fc.span_id and bs.trace_id == fs.trace_id, (bs, fc)
    assert fc.start <= bs.start and bs.end <= fc.end + SKEW


def test_keepalive_requests_on_one_connection(tracer, server_factory):
    name = svc()
    srv = server_factory("python", service=name)
    assert run_client(srv.url + "/users/7", "--count", "5", "--keepalive") == [200] * 5
    spans = server_spans(tracer, name, count=5)
    assert len(spans) == 5
    assert len({s.attrs["network.peer.port"] for s in spans}) == 1
    assert len({s.span_id for s in spans}) == 5


def test_pipelined_requests(tracer, server_factory):
    name = svc()
    srv = server_factory("go", service=name)
    assert run_client(srv.url + "/hello", "--count", "6", "--pipeline", "3") == [200] * 6
    spans = server_spans(tracer, name, count=6)
    assert all(s.name == "GET /hello" for s in spans)


def test_large_request_body_then_next_request(tracer, server_factory):
    name = svc()
    srv = server_factory("python", service=name)
    assert run_client(srv.url + "/echo", "--count", "2", "--keepalive",
                      "--post-bytes", "300000") == [200, 200]
    spans = server_spans(tracer, name, count=2)
    assert all(s.name == "POST /echo" for s in spans)
    assert all(s.attrs["http.request.body.size"] == 300000 for s in spans)


def test_incoming_traceparent_is_honoured(tracer, server_factory):
    name = svc()
    srv = server_factory("python", service=name)
    tid, pid = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    assert curl(srv.url + "/hello", "-H", f"traceparent: 00-{tid}-{pid}-01") == 200
    (s,) = server_spans(tracer, name)
    assert s.trace_id == tid
    assert s.parent == pid


def test_malformed_traceparent_starts_new_trace(tracer, server_factory):
    name = svc()
    srv = server_factory("python", service=name)
    assert curl(srv.url + "/hello", "-H", "traceparent: 00-" + "0" * 32 + "-" + "1" * 16 + "-01") == 200
    (s,) = server_spans(tracer, name)
    assert s.trace_id != "0" * 32 and len(s.trace_id) == 32


def test_secrets_never_exported_and_query_redacted(tracer, server_factory):
    name = svc()
    srv = server_factory("python", service=name)
    assert curl(srv.url + "/users/5?token=s3cr3tvalue&page=2",
                "-H", "Authorization: Bearer topsecret-auth",
                "-H", "Cookie: session=topsecret-cookie") == 200
    (s,) = server_spans(tracer, name)
    assert s.attrs["url.query"] == "token=REDACTED&page=REDACTED"
    blob = "\n".join(tracer.raw_lines)
    for secret in ("s3cr3tvalue", "topsecret-auth", "topsecret-cookie"):
        assert secret not in blob


def test_java_client_spans(tracer, server_factory):
    name = svc()
    srv = server_factory("python", service=name)
    out = subprocess.run(["java", f"{PEERS}/JdkClient.java", srv.url + "/hello", "3"],
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    spans = server_spans(tracer, name, count=3)
    parents = {s.parent for s in spans}
    clients = tracer.wait_for(lambda x: x.kind == 3 and x.span_id in parents, count=3)
    assert {c.service for c in clients} == {"JdkClient"}


def test_hostile_bytes_never_crash_nor_make_garbage_spans(tracer, server_factory):
    name = svc()
    srv = server_factory("python", service=name)
    payloads = [
        bytes(range(256)) * 8,                                   # binary
        b"GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nshort",  # lying length
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # TLS hello
        b"body bytes of a stream we joined in the middle\r\n\r\n",
    ]
    for p in payloads:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            try:
                s.sendall(p)
                s.shutdown(socket.SHUT_WR)
                s.settimeout(2)
                while s.recv(65536):
                    pass
            except OSError:
                pass
    # one byte per write, then a normal request: both must be right.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in b"GET /users/12 HTTP/1.1\r\nHost: split\r\nConnection: close\r\n\r\n":
            s.sendall(bytes([b]))
            time.sleep(0.002)
        while s.recv(65536):
            pass
    assert curl(srv.url + "/hello") == 200
    spans = server_spans(tracer, name, name="GET /hello")
    assert len(spans) == 1
    split = server_spans(tracer, name, name="GET /users/{id}")
    assert split[0].attrs["server.address"] == "split"
    time.sleep(1)
    for s in tracer.all_spans():
        if getattr(s, "service", None) != name:
            continue
        assert s.name in ("GET /hello", "GET /users/{id}", "GET /x", "POST /echo"), s
        assert all(32 <= ord(ch) < 127 for ch in s.name)
    assert tracer.proc.poll() is None, "tracer died"


def test_non_http_traffic_makes_no_spans(tracer):
    t0 = time.time_ns()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    cli = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    for _ in range(50):
        cli.sendall(b"\x00\x01binary-protocol\xff" * 10)
        conn.recv(65536)
        conn.sendall(b"*3\r\n$3\r\nSET\r\n")
        cli.recv(65536)
    cli.close(); conn.close()
    # memcached's text protocol: lower-case words and a space, as a
    # request with an extension method would begin
    cli = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    for i in range(50):
        cli.sendall(b"set user:%d 0 0 5\r\nhello\r\n" % i)
        conn.recv(65536)
        conn.sendall(b"STORED\r\n")
        cli.recv(65536)
        cli.sendall(b"get user:%d\r\n" % i)
        conn.recv(65536)
        conn.sendall(b"VALUE user:%d 0 5\r\nhello\r\nEND\r\n" % i)
        cli.recv(65536)
    cli.close(); conn.close(); srv.close()
    time.sleep(1)
    spans = [s for s in tracer.all_spans()
             if getattr(s, "start", 0) >= t0
             and (getattr(s, "attrs", {}).get("network.peer.port") == port
                  or getattr(s, "attrs", {}).get("server.port") == port)]
    assert spans == []


def test_vectored_io_with_many_iovecs(tracer):
    """sendmsg/recvmsg with a dozen buffers (as writev-heavy runtimes do)."""
    t0 = time.time_ns()
    import threading
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen()
    port = lsock.getsockname()[1]

    def serve():
        conn, _ = lsock.accept()
        buf = bytearray(4096)
        n = conn.recvmsg_into([memoryview(buf)[i * 8:(i + 1) * 8] for i in range(12)] +
                              [memoryview(buf)[96:]])
        assert n[0] > 0
        parts = [b"HTTP/1.1 200 OK\r\n", b"Content-Type: text/plain\r\n"] + \
                [b"X-Part-%d: %d\r\n" % (i, i) for i in range(10)] + \
                [b"Content-Length: 5\r\n", b"\r\n", b"he", b"llo"]
        conn.sendmsg(parts)
        conn.close()
    th = threading.Thread(target=serve)
    th.start()
    c = socket.create_connection(("127.0.0.1", port))
    req = [b"GET /vec/", b"1234", b" HTTP/1.1\r\n", b"Host: vec\r\n"] + \
          [b"X-H%d: v\r\n" % i for i in range(10)] + [b"\r\n"]
    c.sendmsg(req)
    data = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    c.close()
    th.join()
    lsock.close()
    assert data.endswith(b"hello")
    (s,) = tracer.wait_for(lambda x: x.kind == 2 and x.attrs.get("server.port") == port,
                           since=t0)
    assert s.name == "GET /vec/{id}"
    assert s.attrs["http.response.status_code"] == 200
    (cl,) = tracer.wait_for(lambda x: x.kind == 3 and x.span_id == s.parent)
    assert cl.attrs["url.full"] == f"http://vec:{port}/vec/1234"


def test_head_bigger_than_capture_then_keepalive_request(tracer, server_factory):
    """A 10 KB header (more than BPF copies per syscall), then a small
    request on the same connection: both are traced, by server and curl."""
    name = svc()
    srv = server_factory("python", service=name)
    fmt = "%{http_code} %{num_connects}\\n"
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", fmt,
                          "-H", "Cookie: " + "c" * 10000, srv.url + "/users/1",
                          "--next", "-s", "-o", "/dev/null", "-w", fmt, srv.url + "/hello"],
                         capture_output=True, timeout=30, check=True)
    assert out.stdout.decode().split() == ["200", "1", "200", "0"]  # one connection
    (big,) = server_spans(tracer, name, name="GET /users/{id}")
    (after,) = server_spans(tracer, name, name="GET /hello")
    assert big.attrs["http.response.status_code"] == 200
    assert after.attrs["http.response.status_code"] == 200
    assert big.end <= after.start
    clients = tracer.wait_for(lambda x: x.kind == 3 and x.span_id in (big.parent, after.parent),
                              count=2)
    assert sorted(c.attrs["url.full"] for c in clients) == [
        f"{srv.url}/hello", f"{srv.url}/users/1"]


def test_response_head_in_more_iovecs_than_captured(tracer):
    """sendmsg with 50 header iovecs (BPF copies 16): the span is right,
    and so is the next exchange on the connection."""
    t0 = time.time_ns()
    import threading
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen()
    port = lsock.getsockname()[1]

    def serve():
        conn, _ = lsock.accept()
        for path in (b"/many", b"/next"):
            req = b""
            while b"\r\n\r\n" not in req:
                req += conn.recv(4096)
            assert path in req
            parts = [b"HTTP/1.1 503 Busy\r\n"] + [b"X-H%d: v\r\n" % i for i in range(50)] + \
                [b"Content-Length: 4\r\n", b"\r\n", b"busy"]
            conn.sendmsg(parts if path == b"/many" else [b"".join(parts)])
        conn.close()
    th = threading.Thread(target=serve)
    th.start()
    with socket.create_connection(("127.0.0.1", port)) as c:
        for path in (b"/many", b"/next"):
            c.sendall(b"GET %s HTTP/1.1\r\nHost: vec\r\n\r\n" % path)
            data = b""
            while not data.endswith(b"busy"):
                data += c.recv(4096)
    th.join()
    lsock.close()
    spans = tracer.wait_for(lambda x: x.kind == 2 and x.attrs.get("server.port") == port,
                            count=2, since=t0)
    assert sorted(s.name for s in spans) == ["GET /many", "GET /next"]
    assert all(s.attrs["http.response.status_code"] == 503 and s.status == 2 for s in spans)


def test_short_lived_client_logging_first_keeps_its_name(server_factory):
    """curl -v writes to stderr before it connects and exits at once: its
    process is gone when the tracer looks it up; the span still says curl."""
    from lib.tracer import Tracer
    srv = server_factory("python")
    t = Tracer("--comm", "curl").start()
    try:
        for i in range(3):
            subprocess.run(["curl", "-v", "-s", "-o", "/dev/null", f"{srv.url}/hello?n={i}"],
                           capture_output=True, timeout=30, check=True)
        spans = t.wait_for(lambda x: x.kind == 3 and x.attrs.get("server.port") == srv.port, count=3)
        assert [s.service for s in spans] == ["curl"] * 3, spans
    finally:
        assert t.stop() == 0


FORKING_SERVER = r'''
import http.server, socket, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"forked\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(socketserver.ForkingMixIn, http.server.HTTPServer):
    pass
idle = socket.socket()
idle.bind(("127.0.0.1", 0))
idle.listen(64)
held = [socket.create_connection(idle.getsockname()) for _ in range(int(sys.argv[1]))]
s = S(("127.0.0.1", 0), H)
print("READY", s.server_address[1], flush=True)
s.serve_forever()
'''


def _ready_port(p):
    """The port a script started by Popen printed on its READY line."""
    return int(p.stdout.readline().split()[1])


def _spans_at(tracer, port, count, since, kind=2):
    """At least count spans of kind (2 server, 3 client) to port since."""
    return tracer.wait_for(lambda x: x.kind == kind and x.attrs.get("server.port") == port,
                           count=count, since=since)


@pytest.mark.parametrize("held", [2, 20])
def test_accept_then_fork_server(tracer, tmp_path, held):
    """Python ForkingMixIn: the parent accepts, a forked child serves. The
    parent also holds idle client connections: 2 fit in its list of
    connection fds (BPF copies them by lookups at the fork), 20 do not (the
    fork walks the connection map); the child gets the one it serves
    either way."""
    t0 = time.time_ns()
    script = tmp_path / "forking_app.py"
    script.write_text(FORKING_SERVER)
    p = subprocess.Popen(["python3", str(script), str(held)], stdout=subprocess.PIPE)
    try:
        port = _ready_port(p)
        for _ in range(4):
            assert curl(f"http://127.0.0.1:{port}/forked/1") == 200
        # BPF copies the parent's connections to the child at fork time,
        # before the child runs: every request is traced.
        spans = _spans_at(tracer, port, 4, t0)
        assert all(s.name == "GET /forked/{id}" for s in spans), spans
        assert all(s.service == "forking_app.py" for s in spans), spans
        assert all(s.resource["process.pid"] != p.pid for s in spans)  # served by children
        # the children's lists of connection fds went at their exits, also
        # where userspace's copy of the parent's connections came after
        assert leaked_fd_lists() == []
    finally:
        p.terminate()
        p.wait()



INETD_LISTENER = r"""
import os, signal, socket, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(8)
print("READY", ls.getsockname()[1], flush=True)
while True:
    c, _ = ls.accept()
    if os.fork() == 0:
        ls.close()
        os.dup2(c.fileno(), 0)
        os.dup2(c.fileno(), 1)
        c.close()
        os.execvp("python3", ["python3", sys.argv[1]])
    c.close()
"""

INETD_HANDLER = r"""
import sys
inp, out = sys.stdin.buffer, sys.stdout.buffer
method, target, _ = inp.readline().split(b" ", 2)
while inp.readline() not in (b"\r\n", b"\n", b""):
    pass
out.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
          b"handled " + target + b"\n")
out.flush()
"""


def test_inetd_style_server_on_stdin_and_stdout(tracer, tmp_path):
    """xinetd / systemd Accept=yes: the accepted socket is dup2'd onto a
    child's stdin and stdout, the original fd is closed, and the program it
    execs reads the request from fd 0 and writes a close-delimited answer
    to fd 1. One connection, so one server span, child of curl's."""
    t0 = time.time_ns()
    (tmp_path / "inetd_listener.py").write_text(INETD_LISTENER)
    handler = tmp_path / "inetd_handler.py"
    handler.write_text(INETD_HANDLER)
    p = subprocess.Popen(["python3", str(tmp_path / "inetd_listener.py"), str(handler)],
                         stdout=subprocess.PIPE)
    try:
        port = _ready_port(p)
        for i in range(3):
            assert curl(f"http://127.0.0.1:{port}/inetd/{i}") == 200
        servers = _spans_at(tracer, port, 3, t0)
        clients = _spans_at(tracer, port, 3, t0, kind=3)
        time.sleep(1)  # no fourth, half-seen one
        assert len(_spans_at(tracer, port, 3, t0)) == 3
        by_span = {c.span_id: c for c in clients}
        for s in servers:
            assert s.name == "GET /inetd/{id}", s
            assert s.service == "inetd_handler.py", s
            assert s.attrs["http.response.status_code"] == 200, s.attrs
            assert s.attrs["http.response.body.size"] == len("handled /inetd/0\n")
            c = by_span[s.parent]  # curl's span over the same 4-tuple
            assert c.trace_id == s.trace_id
            assert c.start <= s.start + SKEW and s.end <= c.end + SKEW
        # the handlers exited holding the connection on fds 0 and 1
        assert leaked_dup_entries() == []
    finally:
        p.terminate()
        p.wait()


DUP_AND_EXIT = r"""
import os, socket, sys
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(64)
held = [socket.create_connection(ls.getsockname()) for _ in range(int(sys.argv[1]))]
dups = [c.dup() for c in held[-2:]] + [os.dup(held[0].fileno())]
print(len(dups), flush=True)
os._exit(0)  # no close: the exit ends the connections
"""


@pytest.mark.parametrize("held", [2, 20])
def test_exit_deletes_dup_entries(tracer, tmp_path, held):
    """A process holding dup'd connection fds exits without closing them:
    its exit deletes their entries from the BPF connection map, by its list
    of connection fds (2 held), or by a walk when the list does not hold
    them all (20 held, more than its 14 slots)."""
    script = tmp_path / "dup_and_exit.py"
    script.write_text(DUP_AND_EXIT)
    out = subprocess.run(["python3", str(script), str(held)], capture_output=True,
                         timeout=30, check=True)
    assert out.stdout == b"3\n"
    assert leaked_dup_entries() == []
    assert leaked_fd_lists() == []


POOL_THEN_SPAWN = r"""
import os, resource, socket, subprocess, sys
if sys.argv[3] == "big":  # an fd table of 16,384: BPF walks the map
    resource.setrlimit(resource.RLIMIT_NOFILE, (12000, 12000))
    os.dup2(0, 10000)
    os.close(10000)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(512)
held = []
for _ in range(int(sys.argv[1])):
    held.append(socket.create_connection(ls.getsockname()))  # close-on-exec
    held.append(ls.accept()[0])
for _ in range(int(sys.argv[2])):
    subprocess.run(["/bin/true"], check=True)
for _ in range(10):  # forks that exit without an exec: their exit sweeps
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
# a program that lives on: files it opens take the numbers exec freed
child = subprocess.Popen([sys.executable, "-c",
    "import sys; fs = [open('/etc/hostname') for _ in range(8)]; "
    "print('up', flush=True); sys.stdin.readline()"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
assert child.stdout.readline() == b"up\n"
print(child.pid, flush=True)
sys.stdin.readline()
child.stdin.close()
child.wait()
print("done", flush=True)
sys.stdin.readline()
"""


@pytest.mark.parametrize("held,table", [(5, "small"), (200, "small"),
                                        (200, "big")])
def test_commands_spawned_by_a_process_with_many_connections(tracer, tmp_path,
                                                             held, table):
    """A process with a pool of connections (5 pairs: its list of fds holds
    them; 200 pairs: the fork loops over its fd numbers, or walks the
    connection map where its fd table is too big for that, and copies more
    than userspace does) runs commands. Each fork copies the connections to the
    child, and exec closes them (close-on-exec) without a close(): the
    child's entries go at its exec, none is left by the commands that exited
    or by the forks that exited without an exec (their exit finds the copies
    by their list, their fd numbers or a walk, as their fork did), and the
    parent keeps all of its own. Before, every command left the
    copies userspace did not know of, until the map was full and no new
    connection on the host was traced."""
    script = tmp_path / "pool_then_spawn.py"
    script.write_text(POOL_THEN_SPAWN)
    p = subprocess.Popen(["python3", str(script), str(held), "30", table],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        child = int(p.stdout.readline())
        time.sleep(0.3)
        entries = conn_entries()
        assert {fd for tgid, fd in entries if tgid == child} == set()
        assert len({fd for tgid, fd in entries if tgid == p.pid}) == 2 * held
        p.stdin.write(b"\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"done\n"
        time.sleep(0.3)
        assert leaked_conn_entries() == []
        assert leaked_fd_lists() == []
        assert len({fd for tgid, fd in conn_entries() if tgid == p.pid}) == 2 * held
    finally:
        p.kill()
        p.wait()


DUP_KEEPALIVE = r"""
import socket
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(8)
print("READY", ls.getsockname()[1], flush=True)

def request(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    return buf.split(b" ")[1]

def answer(s, target):
    body = b"via the dup " + target + b"\n"
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

c, _ = ls.accept()
d = c.dup()                      # fcntl(F_DUPFD_CLOEXEC)
first = request(c)
c.close()                        # the connection lives on through d
other = socket.create_connection(ls.getsockname())  # may take c's fd number
answer(d, first)
answer(d, request(d))
d.close()
other.close()
"""


def test_connection_moved_to_a_dup_of_its_fd(tracer, tmp_path):
    """socket.dup(): the request is read on the accepted fd, which is then
    closed (its number reused by another connection), and both answers and
    the second request go through the duplicate. The close of the first fd
    does not end the connection: two spans, both answered."""
    t0 = time.time_ns()
    script = tmp_path / "dup_keepalive.py"
    script.write_text(DUP_KEEPALIVE)
    p = subprocess.Popen(["python3", str(script)], stdout=subprocess.PIPE)
    try:
        port = _ready_port(p)
        out = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/one/1",
                              f"http://127.0.0.1:{port}/two/2"],
                             capture_output=True, timeout=30, check=True)
        assert out.stdout == b"via the dup /one/1\nvia the dup /two/2\n"
        servers = _spans_at(tracer, port, 2, t0)
        clients = _spans_at(tracer, port, 2, t0, kind=3)
        assert sorted(s.name for s in servers) == ["GET /one/{id}", "GET /two/{id}"]
        assert all(s.service == "dup_keepalive.py" for s in servers), servers
        assert all(s.attrs["http.response.status_code"] == 200 for s in servers)
        assert {s.parent for s in servers} == {c.span_id for c in clients}
    finally:
        p.wait(timeout=10)


LEADER_EXITS_FIRST = r'''
import ctypes, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
srv = HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever).start()
print("READY", srv.server_address[1], flush=True)
sys.stdin.readline()
ctypes.CDLL(None).pthread_exit(None)   # main thread gone, the process lives
'''


def test_process_whose_main_thread_exited_first(tracer, tmp_path):
    """A C server may end main() with pthread_exit while its threads serve:
    the group leader has exited, the process has not. Its connections are
    still traced (BPF's gate is closed by the last thread, not the first)."""
    t0 = time.time_ns()
    script = tmp_path / "leader_gone.py"
    script.write_text(LEADER_EXITS_FIRST)
    p = subprocess.Popen(["python3", str(script)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        port = int(p.stdout.readline().split()[1])
        assert curl(f"http://127.0.0.1:{port}/before") == 200
        p.stdin.write(b"\n")
        p.stdin.flush()
        deadline = time.time() + 10
        while not open(f"/proc/{p.pid}/task/{p.pid}/status").read().count("zombie"):
            assert time.time() < deadline, "the main thread did not exit"
            time.sleep(0.05)
        for i in range(3):
            assert curl(f"http://127.0.0.1:{port}/after/{i}") == 200
        spans = tracer.wait_for(lambda x: x.kind == 2 and x.attrs.get("server.port") == port,
                                count=4, since=t0)
        assert sorted(s.attrs["url.path"] for s in spans) == \
            ["/after/0", "/after/1", "/after/2", "/before"], spans
        assert all(s.resource["process.pid"] == p.pid for s in spans), spans
        assert all(s.service == "leader_gone.py" for s in spans), spans
        assert p.poll() is None  # still serving
    finally:
        p.kill()
        p.wait()


SHORT_CALL = r'''
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
c.request("GET", "/short/" + sys.argv[2])
c.getresponse().read()
'''


def test_short_lived_scripts_are_named_after_their_script(tracer, server_factory, tmp_path):
    """A script that makes one call and exits (a cron job, a CLI tool) is
    gone long before the reader's next 100 ms poll; its first connection
    wakes the reader, which reads /proc while the script still runs, so
    its spans say shortcall.py, not python3."""
    srv = server_factory("go")
    script = tmp_path / "shortcall.py"
    script.write_text(SHORT_CALL)
    t0 = time.time_ns()
    for i in range(10):
        subprocess.run(["python3", str(script), str(srv.port), str(i)],
                       check=True, timeout=30)
    spans = tracer.wait_for(lambda x: x.kind == 3 and x.attrs.get("server.port") == srv.port
                            and "/short/" in x.attrs.get("url.full", ""),
                            count=10, since=t0)
    assert len(spans) == 10, spans
    assert len({s.resource["process.pid"] for s in spans}) == 10
    assert [s.service for s in spans] == ["shortcall.py"] * 10, spans
