package model

import (
	"encoding/json"
	"fmt"
	"strings"

	openai "github.com/sashabaranov/go-openai"
	"github.com/sashabaranov/go-openai/jsonschema"
)

// Tool builds a function tool whose parameters schema is generated from the
// struct type of params (its json and description tags), as go-openai's
// jsonschema package reads them. It panics only on a programming error (a
// params type that cannot be described), never on model output.
func Tool(name, description string, params any) openai.Tool {
	schema, err := jsonschema.GenerateSchemaForType(params)
	if err != nil {
		panic(fmt.Sprintf("tool %s: schema: %v", name, err))
	}
	return openai.Tool{
		Type: openai.ToolTypeFunction,
		Function: &openai.FunctionDefinition{
			Name:        name,
			Description: description,
			Parameters:  schema,
		},
	}
}

// DecodeArgs parses a tool call's JSON arguments into v. Its error text is
// meant to go back to the model so it can correct the call.
func DecodeArgs(arguments string, v any) error {
	s := strings.TrimSpace(arguments)
	if s == "" {
		s = "{}"
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("the arguments are not valid JSON for this tool (%v); call the tool again with a JSON object matching its schema", err)
	}
	return nil
}
