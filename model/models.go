package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ListModels asks ep's server which models it serves (GET /models) and
// returns their ids, sorted. It makes one attempt, without retries, so a
// setup check (m1 doctor) learns at once whether the server answers and
// takes the key; it costs no tokens. Each attempt is bounded by the
// client's timeout (WithTimeout). Errors are *Error, classified as
// Complete's are (ErrAuth for HTTP 401 and 403, ErrUnavailable for a
// refused connection, and so on), and their text never holds the key.
//
// Some servers answer /models without checking the key (llama.cpp does),
// so a list is not proof that a chat request would be accepted.
func ListModels(ctx context.Context, ep Endpoint, opts ...Option) ([]string, error) {
	cl, err := New(ep, opts...)
	if err != nil {
		return nil, err
	}
	c := cl.(*client)
	actx, cancel := context.WithTimeout(ctx, c.opts.timeout)
	defer cancel()
	ids, err := c.listModels(actx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.cancelled(ctx)
		}
		if errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w: no answer within %s", errTimeout, c.opts.timeout)
		}
		e := c.classify(err)
		e.Attempts = 1
		return nil, e
	}
	slices.Sort(ids)
	return ids, nil
}

func (c *client) listModels(ctx context.Context) ([]string, error) {
	u := strings.TrimRight(c.ep.BaseURL, "/") + "/models"
	if c.ep.Provider == ProviderAzure {
		u = fmt.Sprintf("%s/openai/models?api-version=%s", strings.TrimRight(c.ep.BaseURL, "/"), url.QueryEscape(c.ep.APIVersion))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(ctx, req); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, parseAPIError(resp.StatusCode, body)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	return ids, nil
}
