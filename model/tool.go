package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
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

// DecodeArgs parses a tool call's JSON arguments into v. Numbers written
// as strings ("5" for an integer), as small local models write them, are
// accepted for number fields. Its error text is meant to go back to the
// model so it can correct the call.
func DecodeArgs(arguments string, v any) error {
	s := strings.TrimSpace(arguments)
	if s == "" {
		s = "{}"
	}
	err := json.Unmarshal([]byte(s), v)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Value == "string" {
		if fixed, ok := unquoteNumbers(s, v); ok {
			err = json.Unmarshal(fixed, v)
		}
	}
	if err != nil {
		return fmt.Errorf("the arguments are not valid JSON for this tool (%v); call the tool again with a JSON object matching its schema", err)
	}
	return nil
}

// unquoteNumbers rewrites string values of the object s that v's struct
// has as number fields, when they read as numbers.
func unquoteNumbers(s string, v any) ([]byte, bool) {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, false
	}
	var obj map[string]any
	if json.Unmarshal([]byte(s), &obj) != nil {
		return nil, false
	}
	changed := false
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		str, ok := obj[name].(string)
		if !ok {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if n, err := strconv.ParseInt(strings.TrimSpace(str), 10, 64); err == nil {
				obj[name], changed = n, true
			}
		case reflect.Float32, reflect.Float64:
			if n, err := strconv.ParseFloat(strings.TrimSpace(str), 64); err == nil {
				obj[name], changed = n, true
			}
		}
	}
	if !changed {
		return nil, false
	}
	b, err := json.Marshal(obj)
	return b, err == nil
}
