package web

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const visitURLDesc = "Navigate directly to a URL. An address without a scheme gets https://; text with spaces is searched for instead."

type visitURLParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
	URL       string `json:"url" description:"The URL to open, e.g. https://example.com/page."`
}

func (p visitURLParams) validate() error {
	if strings.TrimSpace(p.URL) == "" {
		return errors.New("url is required")
	}
	return nil
}

func visitURLTool() *tool {
	return defineTool("visit_url", visitURLDesc, nil, nil, func(ctx context.Context, s *Surfer, p visitURLParams) (outcome, error) {
		u, search := normalizeURL(p.URL)
		if search {
			return s.search(ctx, p.URL)
		}
		return s.visit(ctx, u)
	})
}

const searchWebDesc = "Search the web with the configured search engine and open the results page."

type searchWebParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
	Query     string `json:"query" description:"The search query."`
}

func (p searchWebParams) validate() error {
	if strings.TrimSpace(p.Query) == "" {
		return errors.New("query is required")
	}
	return nil
}

func searchWebTool() *tool {
	return defineTool("search_web", searchWebDesc, nil, nil, func(ctx context.Context, s *Surfer, p searchWebParams) (outcome, error) {
		return s.search(ctx, p.Query)
	})
}

const historyBackDesc = "Go back one page in the browser history of the current tab."

type historyBackParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
}

func historyBackTool() *tool {
	return defineTool("history_back", historyBackDesc, nil, nil, func(ctx context.Context, s *Surfer, p historyBackParams) (outcome, error) {
		c := s.chrome
		tb := c.activeTab()
		tctx, cancel := tb.with(ctx)
		defer cancel()
		hist, err := chromedp.Call(tctx, page.GetNavigationHistory, cdp.Empty{})
		if err != nil {
			return s.failed(ctx, "go back", err)
		}
		if hist.CurrentIndex <= 0 || int(hist.CurrentIndex) >= len(hist.Entries) {
			return outcome{text: "There is no previous page in this tab's history."}, nil
		}
		prev := hist.Entries[hist.CurrentIndex-1]
		if err := c.policy.check(prev.URL); err != nil {
			return outcome{text: fmt.Sprintf("I did not go back to %s: %v.", prev.URL, err)}, nil
		}
		since := tb.track.navigations()
		if _, err := chromedp.Call(tctx, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: prev.ID}); err != nil {
			return s.failed(ctx, "go back", err)
		}
		if settle(tctx, tb, c.opts.SettleTimeout, since) {
			return outcome{text: "I went back one page; it was still loading when read."}, nil
		}
		return outcome{text: "I went back one page."}, nil
	})
}

// schemeRE matches an explicit scheme such as https://, about: or
// view-source:, but not the port of "localhost:8080".
var schemeRE = regexp.MustCompile(`^(?i)[a-z][a-z0-9+.-]*:([^0-9]|$)`)

// normalizeURL adds https:// to an address without a scheme; text with
// spaces (or without a dot) is a search instead.
func normalizeURL(raw string) (u string, search bool) {
	s := strings.TrimSpace(raw)
	if schemeRE.MatchString(s) {
		return s, false
	}
	if strings.ContainsAny(s, " \t\n") {
		return "", true
	}
	host := s
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if !strings.Contains(host, ".") && !strings.HasPrefix(host, "localhost") && !strings.Contains(host, ":") {
		return "", true
	}
	if strings.HasPrefix(host, "localhost") || strings.HasPrefix(host, "127.") {
		return "http://" + s, false
	}
	return "https://" + s, false
}

// searchURL fills the search engine template with the escaped query.
func searchURL(template, query string) string {
	q := url.QueryEscape(strings.TrimSpace(query))
	if strings.Contains(template, "{query}") {
		return strings.ReplaceAll(template, "{query}", q)
	}
	if strings.Contains(template, "%s") {
		return strings.Replace(template, "%s", q, 1)
	}
	return template + q
}

func (s *Surfer) visit(ctx context.Context, u string) (outcome, error) {
	if strings.HasPrefix(strings.ToLower(u), "javascript:") {
		return outcome{text: "I did not run a javascript: address; use the page's elements instead."}, nil
	}
	text, err := s.chrome.navigate(ctx, s.chrome.activeTab(), u)
	if err != nil {
		return outcome{}, err
	}
	return outcome{text: text}, nil
}

func (s *Surfer) search(ctx context.Context, query string) (outcome, error) {
	u := searchURL(s.opts.SearchEngine, query)
	text, err := s.chrome.navigate(ctx, s.chrome.activeTab(), u)
	if err != nil {
		return outcome{}, err
	}
	if strings.HasPrefix(text, "I opened") {
		text = fmt.Sprintf("I searched the web for %q.", query)
	}
	return outcome{text: text}, nil
}
