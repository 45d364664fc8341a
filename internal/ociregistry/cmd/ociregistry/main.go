// Command ociregistry serves internal/ociregistry on a loopback address;
// scripts/registry.sh and internal/registrytest run it.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/internal/ociregistry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:47542", "listen address (loopback only; port 0 picks a free one)")
	dir := flag.String("dir", "", "blob storage directory (required)")
	addrFile := flag.String("addr-file", "", "write the address actually listened on to this file")
	verbose := flag.Bool("v", false, "log every request to stderr")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "ociregistry: -dir is required")
		os.Exit(2)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(os.Stderr, "ociregistry: -addr %q is not a loopback address\n", *addr)
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := fsutil.WriteFileAtomic(*addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	var logw io.Writer
	if *verbose {
		logw = os.Stderr
	}
	srv := &http.Server{Handler: ociregistry.Handler(*dir, logw), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("ociregistry: serving %s on http://%s", *dir, ln.Addr())
	log.Fatal(srv.Serve(ln))
}
