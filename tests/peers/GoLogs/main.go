// Test peer for log capture: a Go program that writes to stdout and
// stderr the ways Go programs do. Serves HTTP on 127.0.0.1 (port 0 picks
// one; prints "READY <port>"); GET /work/<n> logs three lines with the
// log package (stderr) and one with fmt.Println (stdout) on the
// goroutine serving the request. On stdin "burst\n" it writes, from 8
// goroutines at once, 200 fmt.Println lines each, then a line in two
// fmt.Print calls, and answers "done" on stderr.
package main

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
)

func work(w http.ResponseWriter, r *http.Request) {
	n := strings.TrimPrefix(r.URL.Path, "/work/")
	for i := 0; i < 3; i++ {
		log.Printf("go request %s log %d", n, i)
	}
	fmt.Println("go request", n, "stdout")
	w.Header().Set("Content-Length", "2")
	w.Write([]byte("ok"))
}

func burst() {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				fmt.Println("goroutine", g, "line", i)
			}
		}(g)
	}
	wg.Wait()
	fmt.Print("two ")
	fmt.Print("prints\n")
	fmt.Fprintln(os.Stderr, "done")
}

func main() {
	log.SetFlags(0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("READY %d\n", ln.Addr().(*net.TCPAddr).Port)
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if in.Text() == "burst" {
				burst()
			}
		}
	}()
	http.HandleFunc("/work/", work)
	log.Fatal(http.Serve(ln, nil))
}
