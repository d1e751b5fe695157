"""A throw-away PKI for TLS tests: a CA, a server certificate for
127.0.0.1 and a client certificate, made with the openssl command."""
import subprocess


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate,
    all signed by the CA: paths by name."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=ebpftrace test CA", "-keyout", "ca.key",
            "-out", "ca.pem", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                "-out", f"{name}.pem", *ext, cwd=d)
    return {n: str(d / n) for n in ("ca.pem", "server.pem", "server.key",
                                     "client.pem", "client.key")}
