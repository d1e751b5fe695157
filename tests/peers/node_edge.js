// Test peer: Node.js http server and client (no npm packages), for
// tests/bpf/test_http_edge.py.
//
//   node node_edge.js serve <port>        prints "READY <port>"
//   node node_edge.js get <url> <count>   <count> GETs on one keep-alive
//                                         Agent socket; prints the codes
//   node node_edge.js post-continue <url> <bytes>
//                                         POST with Expect: 100-continue,
//                                         the body written on 'continue'
//
// Server endpoints:
//   /chunked   200, no length: Node frames it chunked; three writes
//   /hints     103 Early Hints (writeEarlyHints), then 200
//   /ws        Upgrade: websocket -> 101, then two frames each way
//   POST with Expect: 100-continue -> writeContinue, read body, 200
//   anything else: 200 "node <path>"
'use strict';
const http = require('http');
const crypto = require('crypto');

function reply(res, status, body) {
  res.writeHead(status, {'Content-Type': 'text/plain',
                         'Content-Length': Buffer.byteLength(body)});
  res.end(body);
}

function handle(req, res) {
  const path = req.url.split('?')[0];
  let n = 0;
  req.on('data', (d) => { n += d.length; });
  req.on('end', () => {
    if (path === '/chunked') {
      res.writeHead(200, {'Content-Type': 'text/plain'});
      res.write('first part\n');
      setTimeout(() => { res.write('second part\n'); res.end('last\n'); }, 50);
    } else if (path === '/hints') {
      res.writeEarlyHints({link: '</a.css>; rel=preload; as=style'});
      reply(res, 200, 'hinted\n');
    } else if (req.method === 'POST') {
      reply(res, 200, `got ${n}\n`);
    } else {
      reply(res, 200, `node ${path}\n`);
    }
  });
}

function wsFrame(text) {
  const p = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, p.length]), p]);
}

function serve(port) {
  const srv = http.createServer(handle);
  srv.on('checkContinue', (req, res) => { res.writeContinue(); handle(req, res); });
  srv.on('upgrade', (req, sock) => {
    const key = crypto.createHash('sha1')
      .update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64');
    sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
               'Connection: Upgrade\r\nSec-WebSocket-Accept: ' + key + '\r\n\r\n');
    let got = 0;
    sock.on('data', (d) => {
      got++;
      // echo frames back as server frames, one looking like an HTTP head
      sock.write(wsFrame('HTTP/1.1 200 OK\r\n\r\n'));
      if (got >= 2) sock.end();
    });
  });
  srv.listen(Number(port), '127.0.0.1', () => {
    console.log('READY ' + srv.address().port);
  });
}

function get(url, count) {
  const agent = new http.Agent({keepAlive: true, maxSockets: 1});
  const codes = [];
  const one = (i) => {
    if (i === count) {
      console.log(codes.join('\n'));
      agent.destroy();
      return;
    }
    http.get(url + '?n=' + i, {agent}, (res) => {
      res.resume();
      res.on('end', () => { codes.push(res.statusCode); one(i + 1); });
    });
  };
  one(0);
}

function postContinue(url, bytes) {
  const req = http.request(url, {method: 'POST',
    headers: {'Expect': '100-continue', 'Content-Length': bytes}});
  req.on('continue', () => { req.end(Buffer.alloc(bytes, 'x')); });
  req.on('response', (res) => {
    res.resume();
    res.on('end', () => console.log(res.statusCode));
  });
  req.flushHeaders();
}

const [cmd, a, b] = process.argv.slice(2);
if (cmd === 'serve') serve(a);
else if (cmd === 'get') get(a, Number(b));
else if (cmd === 'post-continue') postContinue(a, Number(b));
else { console.error('usage: see header'); process.exit(2); }
