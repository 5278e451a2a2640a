package model

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	info := &attemptInfo{}
	actx, cancel := context.WithTimeout(context.WithValue(ctx, attemptKey{}, info), c.opts.timeout)
	defer cancel()
	list, err := c.api.ListModels(actx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.cancelled(ctx)
		}
		if errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w: no answer within %s", errTimeout, c.opts.timeout)
		}
		e := c.classify(err, info)
		e.Attempts = 1
		return nil, e
	}
	ids := make([]string, 0, len(list.Models))
	for _, m := range list.Models {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids, nil
}
