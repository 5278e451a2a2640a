package scripted_test

import (
	"context"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/model/scripted"
)

// TestRecordedTimes checks the arrival and answer times benchmarks read: a
// reply delayed by 50 ms is answered at least 50 ms after it arrived, and a
// request sent after the first answer arrives after it.
func TestRecordedTimes(t *testing.T) {
	t.Parallel()
	const delay = 50 * time.Millisecond
	srv := scripted.New(t, &scripted.Scenario{Name: "times", Rules: []scripted.Rule{
		{Name: "slow", Match: "slow", Replies: []scripted.Reply{{Content: "late", Delay: delay}}},
		{Name: "fast", Replies: []scripted.Reply{scripted.Text("soon")}},
	}})
	for _, last := range []string{"slow please", "fast please"} {
		body := chatBody(t, openai.ChatCompletionRequest{Messages: msgs("system", last)})
		if status, _, _, err := post(t, context.Background(), srv, body); err != nil || status != 200 {
			t.Fatalf("%s: status %d, %v", last, status, err)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests recorded, want 2", len(reqs))
	}
	slow, fast := reqs[0], reqs[1]
	if slow.Received.IsZero() || slow.Replied.IsZero() || fast.Received.IsZero() || fast.Replied.IsZero() {
		t.Fatalf("zero times: %+v %+v", slow, fast)
	}
	if got := slow.Replied.Sub(slow.Received); got < delay {
		t.Errorf("the delayed reply was done %v after its request arrived, want at least %v", got, delay)
	}
	if fast.Received.Before(slow.Replied) {
		t.Errorf("second request arrived at %v, before the first was answered at %v", fast.Received, slow.Replied)
	}
	if fast.Replied.Before(fast.Received) {
		t.Errorf("second request answered at %v, before it arrived at %v", fast.Replied, fast.Received)
	}
}
