"""Cost of the libssl uprobes to a process, per SSL call: a Python TLS
client writes 100-byte records to a server thread of the same process
(one SSL_write and one SSL_read_ex per record, each with its entry and
return uprobe), on loopback, with a self-signed certificate.

Run: python3 tests/bench/tls_bench.py CERT KEY [records]
Prints "us_per_record N". Compare it with no tracer, with
`ebpftrace run --tls=false`, with a tracer that does not select the
process (`--pid 1`: the uprobes fire, the programs return at once) and
with one that traces it.
"""
import socket
import ssl
import sys
import threading
import time


def main():
    cert, key = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200000
    srv_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv_ctx.load_cert_chain(cert, key)
    cli_ctx = ssl.create_default_context()
    cli_ctx.check_hostname = False
    cli_ctx.verify_mode = ssl.CERT_NONE
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen()

    def serve():
        conn, _ = lsock.accept()
        s = srv_ctx.wrap_socket(conn, server_side=True)
        while s.recv(65536):
            pass

    threading.Thread(target=serve, daemon=True).start()
    c = cli_ctx.wrap_socket(socket.create_connection(lsock.getsockname()))
    rec = b"x" * 100
    for _ in range(2000):
        c.send(rec)
    t = time.perf_counter()
    for _ in range(n):
        c.send(rec)
    print("us_per_record %.3f" % ((time.perf_counter() - t) / n * 1e6))
    c.close()


if __name__ == "__main__":
    main()
