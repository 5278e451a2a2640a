package orchestrator

import (
	"fmt"
	"strings"

	"github.com/m1-project/m1/agent"
)

// The four headings of the facts sheet, asked for at the start and kept
// when the facts are updated on a replan.
const (
	headingGiven  = "1. GIVEN OR VERIFIED FACTS"
	headingLookUp = "2. FACTS TO LOOK UP"
	headingDerive = "3. FACTS TO DERIVE"
	headingGuess  = "4. EDUCATED GUESSES"
)

func factsPrompt(task string) string {
	return fmt.Sprintf(`Here is a request to work on:

%s

Before starting, write a short fact sheet for it. Use exactly these four headings, in this order, and nothing else:

%s
%s
%s
%s

Under the first, list the facts stated in the request or already known for certain. Under the second, facts that must be looked up (and where, if you know). Under the third, facts to be worked out by reasoning or computation. Under the fourth, guesses from memory or intuition that may help. Keep each list short; write "none" when a list is empty.`,
		task, headingGiven, headingLookUp, headingDerive, headingGuess)
}

func planPrompt(team string) string {
	return fmt.Sprintf(`To handle the request, you direct this team:

%s

Write a short plan for the request as a bullet list. Name the team member who does each step; not every member needs a step. Do not do the work yet.`, team)
}

func updateFactsPrompt(task, facts string) string {
	return fmt.Sprintf(`The team has not made enough progress on this request:

%s

Update the fact sheet below with what has been learnt since it was written: move facts that were looked up or derived to the first heading, and add new guesses, including why earlier attempts stalled. Keep exactly these four headings: %s, %s, %s, %s.

Current fact sheet:

%s`, task, headingGiven, headingLookUp, headingDerive, headingGuess, facts)
}

func updatePlanPrompt(team string) string {
	return fmt.Sprintf(`Explain in one or two sentences why the team stalled, then write a new short bullet plan that avoids the same trap. The team:

%s

Name the member who does each step.`, team)
}

func revisePlanPrompt(team, feedback string) string {
	return fmt.Sprintf(`The user reviewed the plan and answered:

%s

Write the revised short bullet plan for the team below, taking the user's answer into account. Name the member who does each step.

%s`, feedback, team)
}

// taskLedger is the message broadcast to every agent at the start of each
// outer loop.
func taskLedger(earlier, task, team, facts, plan string) string {
	if earlier != "" {
		earlier = "Earlier in this session:\n\n" + earlier + "\n\n"
	}
	return earlier + fmt.Sprintf(`We are working on this request:

%s

The team:

%s

The facts as we know them:

%s

The plan:

%s`, task, team, facts, plan)
}

func progressPrompt(task, team string, names []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `Recall the request:

%s

The team:

%s

To make progress, answer these questions:

- Is the request fully satisfied? (true if the original request has been completely and correctly answered; false if anything is left to do)
- Are we in a loop? (true if the same requests or replies keep coming back without new results)
- Is progress being made? (true if the last turns added something new; false if the team is stuck or failing)
- Who should speak next? (one of: %s)
- What instruction or question should they get? (addressed to them directly, with the context they need; when the next speaker is the User, ask them in the second person, e.g. "Which account should I use?")

`, task, team, strings.Join(names, ", "))
	b.WriteString(`Answer with a single JSON object with exactly these keys, each holding {"reason": string, "answer": ...}:
{
  "is_request_satisfied": {"reason": string, "answer": boolean},
  "is_in_loop": {"reason": string, "answer": boolean},
  "is_progress_being_made": {"reason": string, "answer": boolean},
  "next_speaker": {"reason": string, "answer": string},
  "instruction_or_question": {"reason": string, "answer": string}
}`)
	// Said in every mode: servers that ignore response_format (Anthropic's
	// compatible endpoint, some llama.cpp builds) get the ledger anyway.
	b.WriteString("\n\nReply with the JSON object only: no code fences, no text before or after it.")
	return b.String()
}

func ledgerRetryPrompt(err error) string {
	return fmt.Sprintf("That reply could not be used: %v. Reply again with only the JSON object, all five keys present, each with \"reason\" and \"answer\".", err)
}

func finalAnswerPrompt(task string) string {
	return fmt.Sprintf(`The work on the request is done. The request was:

%s

From the conversation above, write the final answer to the request, addressed to the user who asked it. Give the answer itself first, plainly and completely, then anything the user must know about how it was found.`, task)
}

func limitAnswerPrompt(task, reason string) string {
	return fmt.Sprintf(`The work on the request has to stop before it is finished: %s. The request was:

%s

From the conversation above, write the best final answer you can, addressed to the user. Say plainly what was found and what is still uncertain or left undone; do not claim the request was completed if it was not.`, reason, task)
}

// teamDescription lists the team as "Name: description" lines.
func teamDescription(team []agent.Agent) string {
	var b strings.Builder
	for i, a := range team {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s: %s", a.Name(), a.Description())
	}
	return b.String()
}
