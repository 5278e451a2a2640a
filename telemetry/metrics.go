package telemetry

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
)

// Names of m1's own metrics, beside the GenAI ones.
const (
	MetricCost         = "m1.cost"
	MetricRunDuration  = "m1.run.duration"
	MetricTurnDuration = "m1.turn.duration"
	MetricStepDuration = "m1.agent.step.duration"
	MetricToolDuration = "m1.tool.duration"
)

// instruments are the metrics a run records.
type instruments struct {
	tokens       genaiconv.ClientTokenUsage        // gen_ai.client.token.usage
	callDuration genaiconv.ClientOperationDuration // gen_ai.client.operation.duration
	cost         metric.Float64Counter
	run          metric.Float64Histogram
	turn         metric.Float64Histogram
	step         metric.Float64Histogram
	tool         metric.Float64Histogram
}

func newInstruments(m metric.Meter) (instruments, error) {
	var i instruments
	var errs [7]error
	i.tokens, errs[0] = genaiconv.NewClientTokenUsage(m)
	i.callDuration, errs[1] = genaiconv.NewClientOperationDuration(m)
	i.cost, errs[2] = m.Float64Counter(MetricCost, metric.WithUnit("{USD}"),
		metric.WithDescription("Cost of model calls in US dollars, where the config gives the model's prices."))
	i.run, errs[3] = m.Float64Histogram(MetricRunDuration, metric.WithUnit("s"),
		metric.WithDescription("Wall-clock time of a run, from its start to its result."))
	i.turn, errs[4] = m.Float64Histogram(MetricTurnDuration, metric.WithUnit("s"),
		metric.WithDescription("Time of one turn: the progress ledger and the next speaker's step."))
	i.step, errs[5] = m.Float64Histogram(MetricStepDuration, metric.WithUnit("s"),
		metric.WithDescription("Time of one agent step."))
	i.tool, errs[6] = m.Float64Histogram(MetricToolDuration, metric.WithUnit("s"),
		metric.WithDescription("Time of one tool call or code block."))
	return i, errors.Join(errs[:]...)
}
