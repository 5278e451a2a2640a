package telemetry

import "go.opentelemetry.io/otel/attribute"

// m1's own attributes. The GenAI ones come from the semantic conventions
// (semconv v1.41.0); these say what the conventions have no word for.
// docs/observability.md lists them all.
const (
	AttrSessionID   = attribute.Key("m1.session.id")
	AttrTask        = attribute.Key("m1.task") // content
	AttrTaskLength  = attribute.Key("m1.task.length")
	AttrResumed     = attribute.Key("m1.resumed")
	AttrStatus      = attribute.Key("m1.status")
	AttrStopReason  = attribute.Key("m1.stop_reason")
	AttrTurns       = attribute.Key("m1.turns")
	AttrReplans     = attribute.Key("m1.replans")
	AttrCostUSD     = attribute.Key("m1.cost_usd")
	AttrFinalAnswer = attribute.Key("m1.final_answer") // content
	AttrAnswerLen   = attribute.Key("m1.final_answer.length")

	AttrTurn              = attribute.Key("m1.turn")
	AttrStalls            = attribute.Key("m1.stalls")
	AttrNextSpeaker       = attribute.Key("m1.ledger.next_speaker")
	AttrInstruction       = attribute.Key("m1.ledger.instruction") // content
	AttrInstructionLength = attribute.Key("m1.ledger.instruction.length")
	AttrSatisfied         = attribute.Key("m1.ledger.is_request_satisfied")
	AttrInLoop            = attribute.Key("m1.ledger.is_in_loop")
	AttrProgress          = attribute.Key("m1.ledger.is_progress_being_made")

	AttrThreadMessages = attribute.Key("m1.thread.messages")
	AttrStepInput      = attribute.Key("m1.step.instruction") // content
	AttrReply          = attribute.Key("m1.reply")            // content
	AttrReplyLength    = attribute.Key("m1.reply.length")
	AttrReplyImages    = attribute.Key("m1.reply.images")

	AttrCached    = attribute.Key("m1.cached")
	AttrToolError = attribute.Key("m1.tool.error")

	AttrCodeLanguage = attribute.Key("m1.code.language")
	AttrCodeExecutor = attribute.Key("m1.code.executor")
	AttrCodeExit     = attribute.Key("m1.code.exit_code")
	AttrCodeTimedOut = attribute.Key("m1.code.timed_out")
	AttrCodeSource   = attribute.Key("m1.code.source")   // content
	AttrCodeFilename = attribute.Key("m1.code.filename") // content
	AttrCodeOutput   = attribute.Key("m1.code.output")   // content

	AttrMessage = attribute.Key("m1.message") // content: a warning's or an event's text
	AttrSource  = attribute.Key("m1.source")
)
