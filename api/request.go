package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// readBody reads the request's body, at most limit bytes, or answers 413
// (too large) or 400 and returns false.
func readBody(c *gin.Context, limit int64) ([]byte, bool) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(c, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes", limit), "")
			return nil, false
		}
		fail(c, http.StatusBadRequest, "unreadable_body", "reading the body: "+err.Error(), "")
		return nil, false
	}
	return body, true
}

// bindJSON decodes the body, a JSON object, into v strictly: unknown
// fields, wrong types and trailing data are refused with a 400 that names
// the field. An empty body decodes as {} when emptyOK.
func (s *Server) bindJSON(c *gin.Context, v any, emptyOK bool) bool {
	body, ok := readBody(c, s.cfg.MaxBody)
	if !ok {
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return true
		}
		fail(c, http.StatusBadRequest, "invalid_json", "the body is empty; send a JSON object (see /api/v1/openapi.yaml)", "")
		return false
	}
	if err := decodeStrict(body, v); err != nil {
		var je *jsonError
		if errors.As(err, &je) {
			fail(c, http.StatusBadRequest, je.code, je.msg, je.field)
			return false
		}
		fail(c, http.StatusBadRequest, "invalid_json", err.Error(), "")
		return false
	}
	return true
}

// jsonError is a refused JSON body, with the field at fault.
type jsonError struct{ code, msg, field string }

func (e *jsonError) Error() string { return e.msg }

// decodeStrict decodes one JSON object into v, refusing unknown fields,
// wrong types and anything after the object.
func decodeStrict(body []byte, v any) error {
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] != '{' {
		return &jsonError{"invalid_json", "the body must be a JSON object ({...})", ""}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return &jsonError{"invalid_json", "the body has data after its JSON object; send one object", ""}
		}
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(body, syn.Offset)
		return &jsonError{"invalid_json", fmt.Sprintf("malformed JSON at line %d, column %d: %v", line, col, syn), ""}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &jsonError{"invalid_json", "malformed JSON: the body ends in the middle of a value", ""}
	case errors.As(err, &typ):
		field := typ.Field
		return &jsonError{"invalid_field", fmt.Sprintf("field %q must be %s, not a JSON %s", field, describeType(typ.Type), typ.Value), field}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return &jsonError{"unknown_field", fmt.Sprintf("unknown field %q; the fields are in /api/v1/openapi.yaml", field), field}
	}
	return &jsonError{"invalid_json", "malformed JSON: " + err.Error(), ""}
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, off int64) (int, int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col := 1, 1
	for _, ch := range b[:off] {
		if ch == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return "a " + t.String()
}

// queryInt reads an integer query parameter in [min, max], def when
// absent, or answers 400 and returns false.
func queryInt(c *gin.Context, name string, def, min, max int) (int, bool) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		fail(c, http.StatusBadRequest, "invalid_query", fmt.Sprintf("query parameter %s=%q: want an integer from %d to %d", name, v, min, max), name)
		return 0, false
	}
	return n, true
}

// queryBool reads a boolean query parameter (true/false/1/0), false when
// absent.
func queryBool(c *gin.Context, name string) (bool, bool) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		fail(c, http.StatusBadRequest, "invalid_query", fmt.Sprintf("query parameter %s=%q: want true or false", name, v), name)
		return false, false
	}
	return b, true
}

// idParam reads a numeric path parameter.
func idParam(c *gin.Context, name string) (uint64, bool) {
	v := c.Param(name)
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "#"), 10, 64)
	if err != nil || n == 0 {
		fail(c, http.StatusBadRequest, "invalid_path", fmt.Sprintf("%s %q: want a positive integer", name, v), name)
		return 0, false
	}
	return n, true
}

// page reads limit and offset (limit 1–1000, default 100).
func page(c *gin.Context) (limit, offset int, ok bool) {
	if limit, ok = queryInt(c, "limit", 100, 1, 1000); !ok {
		return
	}
	offset, ok = queryInt(c, "offset", 0, 0, 1<<30)
	return
}

// Page is a page of a list: the items with the total across pages.
type Page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func paginate[T any](all []T, limit, offset int) Page[T] {
	p := Page[T]{Items: []T{}, Total: len(all), Limit: limit, Offset: offset}
	if offset < len(all) {
		p.Items = all[offset:min(len(all), offset+limit)]
	}
	return p
}

func notFound(c *gin.Context, what, name, hint string) {
	fail(c, http.StatusNotFound, "not_found", fmt.Sprintf("no %s %q%s", what, name, hint), "")
}
