#!/usr/bin/env python3
"""Test peer: Python HTTP client libraries as applications use them
(tests/bpf/test_real_clients.py).

  py_clients.py <mode> <base url>   runs the calls, prints the statuses
    requests     a Session (keep-alive): GET, POST JSON, a chunked upload
                 from a generator, a streamed chunked download
                 (iter_content), a 404, a redirect chain it follows, a PUT,
                 then a 30 MB download it stops reading after 1 kB (closes)
    httpx        httpx.Client: GET, POST JSON, generator upload, 503,
                 redirects followed
    httpx-async  httpx.AsyncClient: 5 concurrent GETs, then a POST
    aiohttp      aiohttp.ClientSession: 5 concurrent GETs, POST JSON,
                 a redirect, a 500
  py_clients.py serve <base url>    ThreadingHTTPServer printing
                 "READY <port>"; GET /call/requests and /call/httpx call
                 <base>/sleep/20 in the handler (a shared requests Session,
                 or httpx.get) and answer 200 "called <status>"
  py_clients.py serve-aio <base url>   the same with aiohttp's server:
                 GET /call/<ms> calls <base>/sleep/<ms> with one shared
                 aiohttp ClientSession on the event loop
"""
import asyncio
import sys


def gen():
    for _ in range(5):
        yield b"p" * 1000


def via_requests(base):
    import requests
    out = []
    with requests.Session() as s:
        out.append(s.get(base + "/get/1").status_code)
        out.append(s.post(base + "/echo", json={"a": 1}).status_code)
        out.append(s.post(base + "/echo", data=gen()).status_code)
        with s.get(base + "/chunked/50000", stream=True) as r:
            n = sum(len(c) for c in r.iter_content(4096))
            assert n == 50000, n
            out.append(r.status_code)
        out.append(s.get(base + "/status/404").status_code)
        out.append(s.get(base + "/redirect/2").status_code)
        out.append(s.put(base + "/echo", data=b"q" * 3000).status_code)
    with requests.Session() as s:
        r = s.get(base + "/bytes/30000000", stream=True)
        next(r.iter_content(1024))
        r.close()
        out.append(r.status_code)
    return out


def via_httpx(base):
    import httpx
    out = []
    with httpx.Client(base_url=base, follow_redirects=True) as c:
        out.append(c.get("/get/1").status_code)
        out.append(c.post("/echo", json={"a": 1}).status_code)
        out.append(c.post("/echo", content=gen()).status_code)
        out.append(c.get("/status/503").status_code)
        out.append(c.get("/redirect/2").status_code)
    return out


async def via_httpx_async(base):
    import httpx
    async with httpx.AsyncClient(base_url=base) as c:
        rs = await asyncio.gather(*[c.get("/sleep/%d" % (30 + 10 * i))
                                    for i in range(5)])
        r2 = await c.post("/echo", json={"k": "v"})
    return [r.status_code for r in rs] + [r2.status_code]


async def via_aiohttp(base):
    import aiohttp
    async with aiohttp.ClientSession() as s:
        async def get(p):
            async with s.get(base + p) as r:
                await r.read()
                return r.status
        out = list(await asyncio.gather(*[get("/sleep/%d" % (30 + 10 * i))
                                          for i in range(5)]))
        async with s.post(base + "/echo", json={"x": [1, 2, 3]}) as r:
            await r.read()
            out.append(r.status)
        out.append(await get("/redirect/1"))
        out.append(await get("/status/500"))
    return out


def serve(base):
    import httpx
    import requests
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    session = requests.Session()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path.endswith("/httpx"):
                code = httpx.get(base + "/sleep/20").status_code
            else:
                code = session.get(base + "/sleep/20").status_code
            body = b"called %d\n" % code
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.daemon_threads = True
    s = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print("READY", s.server_address[1], flush=True)
    s.serve_forever()


async def serve_aio(base):
    import aiohttp
    from aiohttp import web

    async def call(req):
        url = base + "/sleep/" + req.match_info["ms"]
        async with req.app["client"].get(url) as r:
            await r.read()
            return web.Response(text="called %d\n" % r.status)

    app = web.Application()
    app["client"] = aiohttp.ClientSession()
    app.router.add_get("/call/{ms}", call)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print("READY", runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()


def main():
    mode, base = sys.argv[1], sys.argv[2]
    if mode == "serve":
        return serve(base)
    if mode == "serve-aio":
        return asyncio.run(serve_aio(base))
    run = {"requests": via_requests, "httpx": via_httpx,
           "httpx-async": lambda b: asyncio.run(via_httpx_async(b)),
           "aiohttp": lambda b: asyncio.run(via_aiohttp(b))}[mode]
    print(" ".join(map(str, run(base))))


if __name__ == "__main__":
    main()
