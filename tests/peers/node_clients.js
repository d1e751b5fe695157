// Test peer: Node's built-in fetch (undici) and axios as applications use
// them (tests/bpf/test_real_clients.py).
//   node node_clients.js fetch <base>   GET, POST JSON, 404, a redirect
//                                       chain it follows, 6 concurrent GETs
//   node node_clients.js axios <base>   the same with axios over a
//                                       keep-alive agent (4 sockets), a 500
//                                       in place of the 404
// Prints the statuses, space separated. axios comes from NODE_PATH.
const http = require("http");

async function viaFetch(base) {
  const get = async (p) => { const r = await fetch(base + p); await r.text(); return r.status; };
  const out = [await get("/get/1")];
  const r = await fetch(base + "/echo", {method: "POST", headers: {"content-type": "application/json"},
                                         body: JSON.stringify({a: 1, b: "two"})});
  await r.json();
  out.push(r.status, await get("/status/404"), await get("/redirect/2"));
  out.push(...await Promise.all([0, 1, 2, 3, 4, 5].map((i) => get("/sleep/" + (50 + i * 10)))));
  return out;
}

async function viaAxios(base) {
  const axios = require("axios");
  const c = axios.create({baseURL: base, validateStatus: () => true,
                          httpAgent: new http.Agent({keepAlive: true, maxSockets: 4})});
  const get = async (p) => (await c.get(p)).status;
  const out = [await get("/get/1"), (await c.post("/echo", {a: 1, b: "two"})).status,
               await get("/status/500"), await get("/redirect/2")];
  out.push(...await Promise.all([0, 1, 2, 3, 4, 5].map((i) => get("/sleep/" + (50 + i * 10)))));
  return out;
}

const [mode, base] = process.argv.slice(2);
(mode === "fetch" ? viaFetch(base) : viaAxios(base)).then(
  (o) => console.log(o.join(" ")),
  (e) => { console.error(e); process.exit(1); });
