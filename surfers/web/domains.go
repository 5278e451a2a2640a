package web

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// domainPolicy decides which URLs the browser may load. Local and
// browser-internal schemes (file:, chrome:, view-source:, ...) are refused
// always, with or without domain flags: the FileSurfer is the way to read
// local files, confined to the folders it is given, and the browser must not
// be a way around that. A domain entry matches itself and its subdomains, an
// IP entry that address in any of its spellings, a CIDR entry the addresses
// in it; the block list wins over the allow list. Hosts are put in the one
// form a browser connects to before they are compared (see canonHost), so
// "localhost." or "[::ffff:127.0.0.1]" cannot pass for something else.
type domainPolicy struct {
	allow, block []hostRule
}

// hostRule is one entry of --allow-domains or --block-domains.
type hostRule struct {
	raw    string       // as given, for messages
	name   string       // a canonical domain name, or ""
	addr   netip.Addr   // an IP address entry
	prefix netip.Prefix // a CIDR entry
}

func (r hostRule) matches(host string) bool {
	a, isIP := parseHostAddr(host)
	switch {
	case r.addr.IsValid():
		return isIP && a == r.addr
	case r.prefix.IsValid():
		return isIP && r.prefix.Contains(a)
	case isIP:
		return false
	}
	return host == r.name || strings.HasSuffix(host, "."+r.name)
}

func newDomainPolicy(allow, block []string) domainPolicy {
	parse := func(in []string) []hostRule {
		var out []hostRule
		for _, d := range in {
			for _, part := range strings.Split(d, ",") {
				part = strings.TrimSpace(part)
				if r, ok := parseHostRule(part); ok {
					out = append(out, r)
				}
			}
		}
		return out
	}
	return domainPolicy{allow: parse(allow), block: parse(block)}
}

// parseHostRule reads one entry: a domain ("example.com", "*.example.com",
// "https://example.com/"), an IP address in any spelling, or a CIDR prefix.
func parseHostRule(s string) (hostRule, bool) {
	raw := s
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return hostRule{raw: raw, prefix: p.Masked()}, true
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimPrefix(s, "*.")
	// A port is not part of the entry.
	if strings.HasPrefix(s, "[") {
		if i := strings.LastIndexByte(s, ']'); i >= 0 {
			s = s[:i+1]
		}
	} else if strings.Count(s, ":") == 1 {
		s = s[:strings.IndexByte(s, ':')]
	}
	h := canonHost(s)
	if h == "" {
		return hostRule{}, false
	}
	if a, ok := parseHostAddr(h); ok {
		return hostRule{raw: raw, addr: a}, true
	}
	return hostRule{raw: raw, name: h}, true
}

// hasHostRules reports whether domain flags were given, so request
// interception of every request is only paid for when asked for.
func (p domainPolicy) hasHostRules() bool { return len(p.allow) > 0 || len(p.block) > 0 }

// errLocalFile is the reason a file: address is refused; it tells the model
// the way that works.
var errLocalFile = errors.New("the browser does not open local files (file: addresses); to read a file, ask the FileSurfer, which reads the files of the work dir")

// check returns nil when raw may be loaded, or an error that says why not
// and is fit to show the model.
func (p domainPolicy) check(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return fmt.Errorf("the address %q cannot be parsed", raw)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
		return p.checkHost(u.Hostname())
	case "about":
		// about:blank and about:srcdoc are empty documents; other about:
		// pages are Chrome's own (about:version is chrome://version).
		if u.Opaque == "blank" || u.Opaque == "srcdoc" {
			return nil
		}
		return fmt.Errorf("%s is a page of the browser itself, not of the web; only http and https addresses are opened", raw)
	case "data", "chrome-error":
		// A data: document has no origin to read from; chrome-error is the
		// page Chrome shows for a load that failed.
		return nil
	case "blob":
		// A blob: URL belongs to the origin it names.
		if inner, err := url.Parse(u.Opaque); err == nil && (inner.Scheme == "http" || inner.Scheme == "https") {
			return p.checkHost(inner.Hostname())
		}
		return nil
	case "file":
		return errLocalFile
	case "":
		return fmt.Errorf("the address %q has no scheme; use an http or https address", raw)
	}
	if strings.HasPrefix(strings.ToLower(u.Opaque), "file:") {
		return errLocalFile
	}
	return fmt.Errorf("%s: addresses are not opened (they reach into the browser or this machine rather than the web); only http and https addresses are", u.Scheme)
}

// checkHost applies the domain lists to a host name as a URL gives it.
func (p domainPolicy) checkHost(raw string) error {
	host := canonHost(raw)
	for _, r := range p.block {
		if r.matches(host) {
			return fmt.Errorf("the domain %s is blocked (--block-domains %s)", host, r.raw)
		}
	}
	if len(p.allow) == 0 {
		return nil
	}
	for _, r := range p.allow {
		if r.matches(host) {
			return nil
		}
	}
	return fmt.Errorf("the domain %s is not in the allowed domains (%s)", host, p.allowList())
}

// blocksAddr reports whether an address a name resolved to is on the block
// list, so a name cannot stand in for a blocked address.
func (p domainPolicy) blocksAddr(a netip.Addr) (hostRule, bool) {
	a = a.Unmap()
	for _, r := range p.block {
		if (r.addr.IsValid() && r.addr == a) || (r.prefix.IsValid() && r.prefix.Contains(a)) {
			return r, true
		}
	}
	return hostRule{}, false
}

func (p domainPolicy) allowList() string {
	names := make([]string, len(p.allow))
	for i, r := range p.allow {
		names[i] = r.raw
	}
	return strings.Join(names, ", ")
}

// canonHost puts a host in the form a browser connects to: an IP address
// in its one standard spelling (IPv4 in any of the forms the URL standard
// accepts — 2130706433, 0x7f.1, 0177.0.0.1 —, IPv6 without brackets or
// zone, 4-in-6 addresses as IPv4), a name in lower-case ASCII (IDNA)
// without the trailing dot that DNS ignores.
func canonHost(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if strings.Contains(h, ":") {
		if i := strings.IndexByte(h, '%'); i >= 0 {
			h = h[:i]
		}
		if a, err := netip.ParseAddr(h); err == nil {
			return a.Unmap().String()
		}
		return strings.ToLower(h)
	}
	h = strings.ToLower(h)
	if ascii, err := idna.Lookup.ToASCII(h); err == nil {
		h = ascii
	} else if mapped, err := idna.Punycode.ToASCII(h); err == nil {
		h = mapped
	}
	h = strings.TrimRight(h, ".")
	if a, ok := parseIPv4(h); ok {
		return a.String()
	}
	return h
}

// parseHostAddr reports whether a canonical host is an IP address.
func parseHostAddr(h string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseIPv4 parses a host as the URL standard's IPv4 parser does: one to
// four dot-separated numbers, each decimal, octal (leading 0) or hex (0x),
// the last filling the remaining bytes.
func parseIPv4(h string) (netip.Addr, bool) {
	if h == "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseIPv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	for _, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v := last
	for i, n := range nums[:len(nums)-1] {
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil || n > 1<<32 {
		return 0, false
	}
	return n, true
}
