package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"sync"
	"time"
)

// policyProxy is an HTTP proxy on loopback through which a launched Chrome
// sends all its traffic while domain flags are set. The DevTools request
// interception sees every HTTP request of every target, but not WebSocket
// connections, and a page can also reach a host through a name that
// resolves to a blocked address; the proxy is where both are checked,
// below everything a page can do (the way sandboxes such as Codex's confine
// a tool's network: one egress point that enforces the policy).
type policyProxy struct {
	policy domainPolicy
	ln     net.Listener
	srv    *http.Server
	rp     *httputil.ReverseProxy
	dialer net.Dialer
	refuse func(what string, err error)

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// startProxy listens on a loopback port and serves until close. refuse is
// told of every refused connection.
func startProxy(policy domainPolicy, refuse func(what string, err error)) (*policyProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the domain proxy: %w", err)
	}
	p := &policyProxy{policy: policy, ln: ln, refuse: refuse, conns: map[net.Conn]struct{}{},
		dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = pr.In.URL
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{
			// A proxy the user's environment names still carries the
			// traffic on; m1's proxy only decides what may go.
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         p.dial,
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     30 * time.Second,
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var pe *policyError
			if errors.As(err, &pe) {
				http.Error(w, "m1 refused this request: "+pe.Error(), http.StatusForbidden)
				return
			}
			http.Error(w, "m1's proxy could not reach "+r.Host+": "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second,
		ConnState: func(c net.Conn, st http.ConnState) {
			p.mu.Lock()
			defer p.mu.Unlock()
			switch st {
			case http.StateNew:
				p.conns[c] = struct{}{}
			case http.StateClosed, http.StateHijacked:
				delete(p.conns, c)
			}
		}}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// url is the proxy's address for --proxy-server.
func (p *policyProxy) url() string { return "http://" + p.ln.Addr().String() }

// close stops the proxy and cuts every connection through it.
func (p *policyProxy) close() {
	_ = p.srv.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// policyError is a refusal by the domain policy.
type policyError struct{ err error }

func (e *policyError) Error() string { return e.err.Error() }

// dial connects to addr ("host:port") after checking the host and every
// address it resolves to, and connects to a checked address, so the name
// cannot resolve to something else in between.
func (p *policyProxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if err := p.policy.checkHost(host); err != nil {
		p.refuse(addr, err)
		return nil, &policyError{err}
	}
	var ips []netip.Addr
	if a, ok := parseHostAddr(canonHost(host)); ok {
		ips = []netip.Addr{a}
	} else {
		ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
	}
	for _, a := range ips {
		if r, blocked := p.policy.blocksAddr(a); blocked {
			err := fmt.Errorf("the domain %s resolves to %s, which is blocked (--block-domains %s)", canonHost(host), a.Unmap(), r.raw)
			p.refuse(addr, err)
			return nil, &policyError{err}
		}
	}
	var last error
	for _, a := range ips {
		c, err := p.dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// ServeHTTP forwards plain HTTP requests and tunnels CONNECT (HTTPS and
// WebSocket) after the policy allowed the host.
func (p *policyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		if r.URL.Host == "" {
			http.Error(w, "this is a proxy", http.StatusBadRequest)
			return
		}
		p.rp.ServeHTTP(w, r)
		return
	}
	upstream, err := p.connect(r.Context(), r.Host)
	if err != nil {
		status := http.StatusBadGateway
		var pe *policyError
		if errors.As(err, &pe) {
			status = http.StatusForbidden
		}
		http.Error(w, err.Error(), status)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	p.mu.Lock()
	p.conns[client], p.conns[upstream] = struct{}{}, struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, upstream)
		p.mu.Unlock()
		client.Close()
		upstream.Close()
	}()
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(upstream, buf)
		if c, ok := upstream.(interface{ CloseWrite() error }); ok {
			_ = c.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(client, upstream)
		if c, ok := client.(interface{ CloseWrite() error }); ok {
			_ = c.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	<-done
}

// connect opens the tunnel's far end: through the environment's proxy when
// it names one for this host, else directly.
func (p *policyProxy) connect(ctx context.Context, hostport string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, fmt.Errorf("bad CONNECT target %q", hostport)
	}
	if err := p.policy.checkHost(host); err != nil {
		p.refuse(hostport, err)
		return nil, &policyError{err}
	}
	up, err := http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: "https", Host: hostport}})
	if err != nil || up == nil {
		return p.dial(ctx, "tcp", hostport)
	}
	// The environment's proxy resolves the name; the name was checked.
	c, err := p.dialer.DialContext(ctx, "tcp", up.Host)
	if err != nil {
		return nil, err
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: hostport}, Host: hostport, Header: http.Header{}}
	if u := up.User; u != nil {
		pw, _ := u.Password()
		req.SetBasicAuth(u.Username(), pw)
		req.Header.Set("Proxy-Authorization", req.Header.Get("Authorization"))
		req.Header.Del("Authorization")
	}
	if err := req.Write(c); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		c.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("the proxy %s refused CONNECT %s: %s", up.Host, hostport, resp.Status)
	}
	return c, nil
}
