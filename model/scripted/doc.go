// Package scripted is an OpenAI-compatible chat server for tests and demos.
// It answers POST /v1/chat/completions, plain and streamed (server-sent
// events ending in "data: [DONE]", usage in the last chunk when the request
// asks for stream_options.include_usage), and GET /v1/models, from a
// Scenario. It records every request so a test can assert on what the
// client sent. It never calls a real model.
//
// A scenario is a list of rules. Each request is served by the first rule
// whose criteria all match; criteria left out match anything:
//
//   - match: a Go regexp tested against the text of the last message
//   - system: a Go regexp tested against the first system message
//   - any: a Go regexp tested against the text of all messages
//   - tools: tool names the request must all offer
//
// A rule's replies are served in order and the last one repeats, unless the
// rule says repeat: false, in which case a used-up rule no longer matches
// and later rules are tried. A request no rule matches gets HTTP 400 with
// an error naming the scenario and quoting the last message (up to 200
// bytes), so a failing test says what it asked.
//
// A reply is a completion or a fault; faults are replies like any other, so
// "500, then 429, then an answer" is three replies:
//
//   - content: the assistant's text (for an error status, the message)
//   - tool_calls: [{name, arguments}], arguments a raw string
//   - usage: {prompt_tokens, completion_tokens}; estimated when left out
//   - empty: true sends empty content
//   - status: an HTTP error status (500, 429, 401, ...)
//   - error_code: the error's code, e.g. context_length_exceeded (status
//     400 unless given)
//   - retry_after: a Retry-After header, in seconds
//   - delay: a Go duration to wait first; ends early if the client leaves
//   - malformed: true sends a body (or stream chunk) that is not JSON
//   - cut: true sends part of the reply, then drops the connection
//   - reset: true drops the connection without answering
//   - run: a shell command (sh -c) run before the reply, a test hook for
//     breaking things mid-conversation; the server waits for it but not
//     for jobs it starts in the background with &, and answers 500 with
//     the command's output if it fails. Scenarios are trusted code.
//
// Scenario-wide settings: name, models (listed by /v1/models), api_key
// (requests without it get 401), no_stream (answer stream requests with a
// plain JSON body) and stream_error (reject stream requests with 400).
//
// An example:
//
//	name: sky
//	rules:
//	  - name: facts
//	    match: "GIVEN OR VERIFIED FACTS"
//	    replies:
//	      - content: "1. GIVEN OR VERIFIED FACTS\n- The sky is blue."
//	  - name: coder
//	    system: "(?i)you are the coder"
//	    tools: [run_code]
//	    replies:
//	      - status: 500
//	      - status: 429
//	        retry_after: 1
//	      - tool_calls:
//	          - name: run_code
//	            arguments: '{"code": "print(42)"}'
//	        usage: {prompt_tokens: 120, completion_tokens: 12}
//	  - name: anything else
//	    replies:
//	      - content: "I do not know."
//
// Tests start a server with New and read Requests; the scripted-model
// command serves a scenario file for demos.
package scripted
