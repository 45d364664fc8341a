// Command tileserve serves a tile-based log's storage directory read-only on
// a loopback address; scripts/stack.sh runs it beside the private Rekor v2.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mlattest/mlattest/internal/tileserve"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:47514", "listen address (loopback only)")
	dir := flag.String("dir", "", "the log's storage directory (holds checkpoint and tile/)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "tileserve: -dir is required")
		os.Exit(2)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(os.Stderr, "tileserve: -addr %q is not a loopback address\n", *addr)
		os.Exit(2)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           tileserve.Handler(*dir),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Printf("tileserve: serving %s on http://%s", *dir, *addr)
	log.Fatal(srv.ListenAndServe())
}
