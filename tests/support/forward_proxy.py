#!/usr/bin/env python3
"""A small forwarding HTTP proxy on loopback that logs what passes through it, for the crawler's
proxy tests. Python stdlib only.

    forward_proxy.py --log FILE [--port 0]

Prints "proxy: http://127.0.0.1:PORT" once it listens, then serves until SIGTERM/SIGINT:
  - "GET http://host:port/path HTTP/1.1" (absolute form, as a client sends plain http through a
    proxy): logged as "GET http://host:port/path", forwarded to the origin in origin form with
    "Connection: close", the response relayed as it comes, then the client connection closed;
  - "CONNECT host:port HTTP/1.1" (how a client reaches an https origin through a proxy): logged
    as "CONNECT host:port", answered "200 Connection established", then bytes piped both ways
    (the TLS inside is the client's and the origin's: the proxy sees no request in it).
Only 127.0.0.0/8 is forwarded to (anything else gets 403, logged as "REFUSED ..."): the tests
never reach another address, even through their own proxy. One log line per request, flushed.
"""
import argparse
import ipaddress
import select
import signal
import socket
import socketserver
import sys
import threading

LOG_LOCK = threading.Lock()


def log(line):
    with LOG_LOCK:
        LOG.write(line + "\n")
        LOG.flush()


def loopback(host):
    try:
        return ipaddress.ip_address(host.strip("[]")) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False


def split_host_port(authority, default_port):
    host, _, port = authority.rpartition(":")
    if not host or not port.isdigit():
        return authority, default_port
    return host, int(port)


def read_head(sock):
    """The request head (up to and including the blank line) as bytes, and what came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > 1 << 20:
            return None, b""
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def pipe(a, b):
    """Copies bytes both ways until either side closes."""
    socks = [a, b]
    while True:
        ready, _, _ = select.select(socks, [], [], 60)
        if not ready:
            return
        for s in ready:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        client = self.request
        head, rest = read_head(client)
        if head is None:
            return
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if method == "CONNECT":
            host, port = split_host_port(target, 443)
            if not loopback(host):
                log(f"REFUSED CONNECT {target}")
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            log(f"CONNECT {target}")
            with socket.create_connection((host.strip("[]"), port), timeout=30) as up:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    up.sendall(rest)
                pipe(client, up)
            return
        if not target.lower().startswith("http://"):
            log(f"REFUSED {method} {target}")
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        authority, slash, path = target[len("http://"):].partition("/")
        host, port = split_host_port(authority, 80)
        if not loopback(host):
            log(f"REFUSED {method} {target}")
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        log(f"{method} {target}")
        drop = {"connection", "proxy-connection", "keep-alive", "proxy-authorization"}
        headers = [h for h in lines[1:] if h.split(":", 1)[0].strip().lower() not in drop]
        request = f"{method} /{path if slash else ''} {version}\r\n" + "".join(h + "\r\n" for h in headers)
        request += "Connection: close\r\n\r\n"
        with socket.create_connection((host.strip("[]"), port), timeout=30) as up:
            up.sendall(request.encode("latin-1") + rest)
            while True:
                data = up.recv(65536)
                if not data:
                    break
                client.sendall(data)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global LOG
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    LOG = open(args.log, "a")
    server = Server(("127.0.0.1", args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"proxy: http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
