// Test peer: Go net/http server and client for awkward but legal HTTP/1.x
// exchanges (tests/bpf/test_http_edge.py). Stdlib only.
//
//	goedge serve <port>              prints "READY <port>"
//	goedge get <url> <conns> <each>  <conns> keep-alive connections, <each>
//	                                 GETs on each, concurrently; prints the
//	                                 status codes, one per line
//	goedge post-chunked <url> <n>    POST n bytes with Transfer-Encoding:
//	                                 chunked (unknown length); prints status
//
// Server endpoints:
//
//	/hints     103 Early Hints, then 200 "hinted\n"
//	/stream    200 chunked, 5 flushed chunks 100 ms apart, Trailer: X-Sum
//	/file      http.ServeContent of a 200 000-byte file (sendfile)
//	/big       100 000 bytes, chunked (no length set)
//	/reject    413 without reading the request body, connection closed
//	/etag      200 with ETag "v1"; 304 when If-None-Match matches
//	/empty     204
//	/echo      reads the body (sends 100 Continue when asked), 200 "got N"
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func hints(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Link", "</style.css>; rel=preload; as=style")
	w.WriteHeader(http.StatusEarlyHints)
	w.Header().Set("Content-Length", "7")
	w.WriteHeader(200)
	io.WriteString(w, "hinted\n")
}

func stream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Trailer", "X-Sum")
	w.WriteHeader(200)
	f := w.(http.Flusher)
	for i := 0; i < 5; i++ {
		fmt.Fprintf(w, "part %d of a streamed body\n", i)
		f.Flush()
		time.Sleep(100 * time.Millisecond)
	}
	w.Header().Set("X-Sum", "5")
}

var fileOnce sync.Once
var filePath string

func file(w http.ResponseWriter, r *http.Request) {
	fileOnce.Do(func() {
		f, err := os.CreateTemp("", "goedge-*.bin")
		if err != nil {
			panic(err)
		}
		buf := make([]byte, 200000)
		for i := range buf {
			buf[i] = byte('a' + i%26)
		}
		f.Write(buf)
		f.Close()
		filePath = f.Name()
	})
	http.ServeFile(w, r, filePath)
}

// big: 100 000 bytes without Content-Length: net/http frames it chunked,
// a chunk per 4 KiB buffer flush.
func big(w http.ResponseWriter, r *http.Request) {
	line := strings.Repeat("z", 99) + "\n"
	for i := 0; i < 1000; i++ {
		io.WriteString(w, line)
	}
}

func reject(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Length", "9")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	io.WriteString(w, "too big!\n")
}

func etag(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("ETag", `"v1"`)
	if r.Header.Get("If-None-Match") == `"v1"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", "8")
	io.WriteString(w, "content\n")
}

func empty(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

func echo(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	body := fmt.Sprintf("got %d\n", n)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	io.WriteString(w, body)
}

func serve(port string) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/hints", hints)
	mux.HandleFunc("/stream", stream)
	mux.HandleFunc("/file", file)
	mux.HandleFunc("/reject", reject)
	mux.HandleFunc("/big", big)
	mux.HandleFunc("/etag", etag)
	mux.HandleFunc("/empty", empty)
	mux.HandleFunc("/echo", echo)
	fmt.Printf("READY %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	http.Serve(ln, mux)
}

func get(url string, conns, each int) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := []int{}
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < each; j++ {
				resp, err := c.Get(fmt.Sprintf("%s?c=%d&r=%d", url, i, j))
				code := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				codes = append(codes, code)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	for _, c := range codes {
		fmt.Println(c)
	}
}

type slowReader struct{ left int }

func (s *slowReader) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if n > 1000 {
		n = 1000
	}
	if n > s.left {
		n = s.left
	}
	for i := 0; i < n; i++ {
		p[i] = 'x'
	}
	s.left -= n
	return n, nil
}

func postChunked(url string, n int) {
	req, _ := http.NewRequest("POST", url, &slowReader{left: n})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: goedge serve <port> | get <url> <conns> <each> | post-chunked <url> <n>")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2])
	case "get":
		conns, _ := strconv.Atoi(os.Args[3])
		each, _ := strconv.Atoi(os.Args[4])
		get(os.Args[2], conns, each)
	case "post-chunked":
		n, _ := strconv.Atoi(os.Args[3])
		postChunked(os.Args[2], n)
	default:
		os.Exit(2)
	}
}
