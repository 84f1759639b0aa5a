package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/internal/apispec/openapi"
)

// doc is a small description using what the real ones do: $ref to
// parameters, request bodies, responses, examples and (recursive)
// schemas; path-level parameters; allOf bodies; Atlassian's examples as
// strings of JSON.
const doc = `{
  "openapi": "3.0.3",
  "info": {"title": "Test API", "version": "1.2.3"},
  "paths": {
    "/things/{thing_id}": {
      "parameters": [{"$ref": "#/components/parameters/thing-id"}, {"name": "verbose", "in": "query", "schema": {"type": "boolean"}}],
      "get": {
        "operationId": "get-thing",
        "description": "dropped",
        "parameters": [
          {"name": "verbose", "in": "query", "required": true, "schema": {"type": "string", "enum": ["yes", "no"]}},
          {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
          {"name": "q", "in": "query", "schema": {"type": "string", "description": "any text"}}
        ],
        "responses": {
          "200": {"$ref": "#/components/responses/thing"},
          "404": {"description": "not found"}
        }
      },
      "put": {
        "operationId": "put-thing",
        "requestBody": {"$ref": "#/components/requestBodies/thing-body"},
        "responses": {"204": {"description": "done"}}
      }
    }
  },
  "components": {
    "parameters": {"thing-id": {"name": "thing_id", "in": "path", "required": true, "schema": {"type": "integer"}}},
    "requestBodies": {"thing-body": {"required": true, "content": {"application/json": {"schema": {
      "allOf": [{"$ref": "#/components/schemas/thing"}, {"type": "object", "properties": {"note": {"type": "string"}}}]}}}}},
    "responses": {"thing": {"description": "a thing", "content": {"application/json": {
      "schema": {"$ref": "#/components/schemas/thing"},
      "examples": {"default": {"$ref": "#/components/examples/thing"}},
      "example": "{\"id\": 1, \"parent\": null}"}}}},
    "examples": {"thing": {"summary": "dropped", "value": {"id": 2, "parent": {"id": 1, "parent": null}}}},
    "schemas": {
      "thing": {"type": "object", "description": "dropped", "required": ["id"], "additionalProperties": false,
        "properties": {"id": {"type": "integer", "format": "int64"}, "parent": {"$ref": "#/components/schemas/nullable-thing"},
          "tags": {"type": "object", "additionalProperties": {"type": "string"}}}},
      "nullable-thing": {"allOf": [{"$ref": "#/components/schemas/thing"}], "nullable": true},
      "unused": {"type": "string"}
    }
  }
}`

func TestTrimFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	src := openapi.Source{Package: "test@1", File: "api.json", Integrity: "sha512-x"}
	if err := trimFile([]byte(doc), src, []string{"get-thing"}, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got openapi.File
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	thing := &openapi.Schema{Ref: "#/components/schemas/thing"}
	want := openapi.File{
		Source: openapi.Source{Title: "Test API", APIVersion: "1.2.3", Package: "test@1", File: "api.json", Integrity: "sha512-x"},
		Operations: []*openapi.Operation{
			{ID: "get-thing", Method: "GET", Path: "/things/{thing_id}", Full: true,
				Params: []openapi.Param{
					{Name: "thing_id", In: "path", Schema: &openapi.Schema{Type: "integer"}},
					{Name: "verbose", In: "query", Required: true, Schema: &openapi.Schema{Type: "string", Enum: []any{"yes", "no"}}},
					{Name: "q", In: "query"},
				},
				Responses: map[string]*openapi.Response{
					"200": {Content: map[string]*openapi.Media{"application/json": {Schema: thing, Examples: map[string]json.RawMessage{
						"default": json.RawMessage(`{"id":2,"parent":{"id":1,"parent":null}}`),
						"example": json.RawMessage(`{"id":1,"parent":null}`),
					}}}},
					"404": {},
				}},
			{ID: "put-thing", Method: "PUT", Path: "/things/{thing_id}",
				Params: []openapi.Param{
					{Name: "thing_id", In: "path", Schema: &openapi.Schema{Type: "integer"}},
					{Name: "verbose", In: "query", Schema: &openapi.Schema{Type: "boolean"}},
				},
				Body: &openapi.Body{Required: true, Content: []string{"application/json"}, Properties: []string{"id", "note", "parent", "tags"}}},
		},
		Schemas: map[string]*openapi.Schema{
			"thing": {Type: "object", Required: []string{"id"}, AdditionalProperties: &openapi.Additional{},
				Properties: map[string]*openapi.Schema{
					"id":     {Type: "integer"},
					"parent": {Ref: "#/components/schemas/nullable-thing"},
					"tags":   {Type: "object", AdditionalProperties: &openapi.Additional{Allowed: true, Schema: &openapi.Schema{Type: "string"}}},
				}},
			"nullable-thing": {Nullable: true, AllOf: []*openapi.Schema{thing}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed (-want +got):\n%s", diff)
	}

	// The same input gives the same bytes.
	again := filepath.Join(dir, "again.json")
	if err := trimFile([]byte(doc), src, []string{"get-thing"}, again); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(again); !bytes.Equal(b, b2) {
		t.Error("two runs wrote different bytes")
	}
	// One operation a line, so a regenerated file diffs by operation.
	if n := bytes.Count(b, []byte("\n")); n != 9 {
		t.Errorf("%d lines, want 9:\n%s", n, b)
	}

	if err := trimFile([]byte(doc), src, []string{"get-thing", "gone"}, out); err == nil {
		t.Error("an operation the description lacks was not refused")
	}
}
