// Command benchfloor is the benchmark's floor: a plain Go net/http server that
// returns the benchmark function's fixed body through httputil.ReverseProxy, so the
// bench script can compare Sluice against the cheapest possible proxy hop.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:4599", "address of the proxy")
	flag.Parse()

	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		log.Fatal(http.Serve(backend, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("hello from sluice\n"))
		})))
	}()
	target, _ := url.Parse("http://" + backend.Addr().String())
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	log.Fatal(http.ListenAndServe(*listen, proxy))
}
