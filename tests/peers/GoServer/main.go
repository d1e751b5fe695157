// Test peer: Go net/http server, stdlib only.
// Run: goserver <port> [downstream_base_url]
// Port 0 picks a free port. Prints "READY <port>" once listening.
// BIND_ADDR (env) sets the listen address, default 127.0.0.1.
//
// Known limit: /chain's outbound request runs on net/http's transport
// goroutines, which may sit on another OS thread than the handler.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

var downstream string

var client = &http.Client{Timeout: 5 * time.Second}

func reply(w http.ResponseWriter, status int, body, ctype string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func hello(w http.ResponseWriter, r *http.Request) {
	reply(w, 200, "hello\n", "text/plain")
}

func fail(w http.ResponseWriter, r *http.Request) {
	reply(w, 500, "fail\n", "text/plain")
}

func users(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/users/")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		reply(w, 404, "no such user\n", "text/plain")
		return
	}
	reply(w, 200, fmt.Sprintf("{\"id\":%s,\"name\":\"user%s\"}\n", id, id),
		"application/json")
}

func echo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		reply(w, 405, "POST only\n", "text/plain")
		return
	}
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		reply(w, 400, "bad body\n", "text/plain")
		return
	}
	reply(w, 200, fmt.Sprintf("got %d bytes\n", n), "text/plain")
}

func chain(w http.ResponseWriter, r *http.Request) {
	if downstream == "" {
		reply(w, 502, "no downstream configured\n", "text/plain")
		return
	}
	resp, err := client.Get(downstream + "/hello")
	if err != nil {
		reply(w, 502, "downstream error: "+err.Error()+"\n", "text/plain")
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	reply(w, 200, fmt.Sprintf("downstream status %d\n", resp.StatusCode), "text/plain")
}

func logLine(w http.ResponseWriter, r *http.Request) {
	os.Stdout.WriteString("handled /log\n")
	reply(w, 200, "logged\n", "text/plain")
}

func headers(w http.ResponseWriter, r *http.Request) {
	_, has := r.Header["Traceparent"]
	reply(w, 200, fmt.Sprintf("{\"header_count\":%d,\"has_traceparent\":%t}\n",
		len(r.Header), has), "application/json")
}

func notFound(w http.ResponseWriter, r *http.Request) {
	reply(w, 404, "not found\n", "text/plain")
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goserver <port> [downstream_base_url]")
		os.Exit(2)
	}
	if len(os.Args) > 2 {
		downstream = strings.TrimSuffix(os.Args[2], "/")
	}
	bind := os.Getenv("BIND_ADDR")
	if bind == "" {
		bind = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(bind, os.Args[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", hello)
	mux.HandleFunc("/fail", fail)
	mux.HandleFunc("/users/", users)
	mux.HandleFunc("/echo", echo)
	mux.HandleFunc("/chain", chain)
	mux.HandleFunc("/log", logLine)
	mux.HandleFunc("/headers", headers)
	mux.HandleFunc("/", notFound)
	fmt.Printf("READY %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
