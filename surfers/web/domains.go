package web

import (
	"fmt"
	"net/url"
	"strings"
)

// domainPolicy decides which URLs the browser may load. A domain entry
// matches itself and its subdomains; the block list wins over the allow
// list.
type domainPolicy struct {
	allow, block []string
}

func newDomainPolicy(allow, block []string) domainPolicy {
	norm := func(in []string) []string {
		var out []string
		for _, d := range in {
			for _, part := range strings.Split(d, ",") {
				part = strings.ToLower(strings.TrimSpace(part))
				part = strings.TrimPrefix(strings.TrimPrefix(part, "https://"), "http://")
				part = strings.TrimPrefix(strings.TrimSuffix(part, "/"), "*.")
				if part != "" {
					out = append(out, part)
				}
			}
		}
		return out
	}
	return domainPolicy{allow: norm(allow), block: norm(block)}
}

// active reports whether the policy restricts anything, so interception is
// only paid for when asked for.
func (p domainPolicy) active() bool { return len(p.allow) > 0 || len(p.block) > 0 }

// check returns nil when raw may be loaded, or an error that says why not
// and is fit to show the model.
func (p domainPolicy) check(raw string) error {
	if !p.active() {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("the address %q cannot be parsed", raw)
	}
	switch u.Scheme {
	case "about", "data", "blob", "chrome-error":
		return nil
	case "http", "https", "ws", "wss":
	default:
		if len(p.allow) > 0 {
			return fmt.Errorf("%s: addresses are not allowed while browsing is limited to %s", u.Scheme, strings.Join(p.allow, ", "))
		}
		return nil
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range p.block {
		if matchDomain(host, d) {
			return fmt.Errorf("the domain %s is blocked (--block-domains %s)", host, d)
		}
	}
	if len(p.allow) == 0 {
		return nil
	}
	for _, d := range p.allow {
		if matchDomain(host, d) {
			return nil
		}
	}
	return fmt.Errorf("the domain %s is not in the allowed domains (%s)", host, strings.Join(p.allow, ", "))
}

func matchDomain(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}
