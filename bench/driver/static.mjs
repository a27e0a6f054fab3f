// Trivial static HTTP/1.1 server used to measure the driver's own ceiling:
// it answers every request on a keep-alive connection with the same canned
// response (a JSON body about the size of a discovery document) without
// parsing anything beyond the end of the request head.
//
// Usage: node static.mjs PORT   (prints "READY" once listening)

import net from 'node:net';

const port = Number(process.argv[2]);
const body = JSON.stringify({
  issuer: `http://127.0.0.1:${port}`,
  padding: 'x'.repeat(1800),
});
const response = Buffer.from(
  'HTTP/1.1 200 OK\r\n'
  + 'Content-Type: application/json\r\n'
  + `Content-Length: ${Buffer.byteLength(body)}\r\n`
  + 'Connection: keep-alive\r\n'
  + 'Keep-Alive: timeout=60\r\n'
  + `\r\n${body}`,
);
const END = Buffer.from('\r\n\r\n');

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let tail = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    // Requests are bodiless GETs: one response per "\r\n\r\n".
    const data = tail.length ? Buffer.concat([tail, chunk]) : chunk;
    let count = 0;
    let from = 0;
    for (let i = data.indexOf(END, from); i !== -1; i = data.indexOf(END, from)) {
      count += 1;
      from = i + 4;
    }
    tail = data.subarray(Math.max(from, data.length - 3));
    if (count === 1) socket.write(response);
    else if (count > 1) socket.write(Buffer.concat(Array(count).fill(response)));
  });
  socket.on('error', () => {});
});
server.listen(port, '127.0.0.1', () => process.stdout.write('READY\n'));
process.on('SIGTERM', () => process.exit(0));
