// Test peer: Go net/http clients as applications configure them
// (tests/bpf/test_real_clients.py). Stdlib only.
//
//	goclients <mode> <base url>
//
// Modes (each prints the status codes, space separated, in call order):
//
//	pool     Transport{MaxIdleConnsPerHost: 2}: 3 rounds of 6 concurrent GETs
//	close    Transport{DisableKeepAlives: true}: 3 GETs, a connection each
//	chunked  POST bodies of unknown length (io.Pipe, written in pieces)
//	         of 0, 1 and 20 000 bytes, then a GET on the same connection
//	redirect GET /redirect/3 (the client follows 3 hops), then a 404
//	cancel   GET /sleep/1000 with a 150 ms context deadline (prints -1 when
//	         it gave up), then GET /get/1 on a fresh connection
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

func get(c *http.Client, url string) int {
	r, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return -1
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode
}

func pool(base string) []int {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	codes := make([]int, 18)
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				codes[k] = get(c, fmt.Sprintf("%s/sleep/%d", base, 20+k))
			}(round*6 + i)
		}
		wg.Wait()
	}
	return codes
}

func closing(base string) []int {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return []int{get(c, base+"/get/1"), get(c, base+"/status/503"), get(c, base+"/get/3")}
}

func postUnknown(c *http.Client, url string, n int) int {
	pr, pw := io.Pipe()
	go func() {
		for left := n; left > 0; left -= 700 {
			io.WriteString(pw, strings.Repeat("u", min(700, left)))
			time.Sleep(time.Millisecond)
		}
		pw.Close()
	}()
	r, err := c.Post(url, "application/octet-stream", pr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return -1
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode
}

func chunked(base string) []int {
	c := &http.Client{}
	return []int{postUnknown(c, base+"/echo", 0), postUnknown(c, base+"/echo", 1),
		postUnknown(c, base+"/echo", 20000), get(c, base+"/get/2")}
}

func redirect(base string) []int {
	c := &http.Client{}
	return []int{get(c, base+"/redirect/3"), get(c, base+"/status/404")}
}

func cancel(base string) []int {
	c := &http.Client{}
	ctx, stop := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer stop()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/sleep/1000", nil)
	first := -1
	if r, err := c.Do(req); err == nil {
		first = r.StatusCode
		r.Body.Close()
	}
	return []int{first, get(c, base+"/get/1")}
}

func main() {
	modes := map[string]func(string) []int{"pool": pool, "close": closing,
		"chunked": chunked, "redirect": redirect, "cancel": cancel}
	f := modes[os.Args[1]]
	if f == nil || len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goclients pool|close|chunked|redirect|cancel <base url>")
		os.Exit(2)
	}
	out := []string{}
	for _, c := range f(os.Args[2]) {
		out = append(out, fmt.Sprint(c))
	}
	fmt.Println(strings.Join(out, " "))
}
