package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The answers below are what examples/http_service.cpp (goro, RapidJSON)
// answers to the same bodies, byte for byte.
func TestOrdersAnswerAsTheGoroService(t *testing.T) {
	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{`{"id":"o-1","customer":"ada","items":[{"sku":"tea","qty":2,"price":3.5},{"sku":"cake","qty":1,"price":4.25},` +
			`{"sku":"jam","qty":3,"price":0.99},{"sku":"tea","qty":1,"price":3.5},{"sku":"bread","qty":1,"price":2.1}]}`,
			200, `{"id":"o-1","customer":"ada","lines":5,"units":8,"distinct_skus":4,"total":19.82,"largest_line":{"sku":"tea","amount":7.0}}` + "\n"},
		{`{"id":"a\"b\u0001<é>","customer":"x","items":[{"sku":"s","qty":1000000,"price":1e9}]}`,
			200, `{"id":"a\"b\u0001<é>","customer":"x","lines":1,"units":1000000,"distinct_skus":1,"total":1000000000000000.0,"largest_line":{"sku":"s","amount":1000000000000000.0}}` + "\n"},
		{`{"id":"a","customer":"x","items":[{"sku":"s","qty":1.5,"price":1}]}`,
			400, `{"error":"items[0]: \"qty\" must be a whole number from 1 to 1000000"}` + "\n"},
		{`[1]`, 400, `{"error":"the body must be a JSON object (an order)"}` + "\n"},
		{`{"id":"a","customer":"x","items":[]}`, 400, `{"error":"\"items\" must hold 1 to 1000 items, not 0"}` + "\n"},
		{`{"id":1,"customer":"x","items":[]}`, 400, `{"error":"\"id\" must be a string"}` + "\n"},
	} {
		rec := httptest.NewRecorder()
		handle(rec, httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(c.body)))
		if rec.Code != c.code || rec.Body.String() != c.want {
			t.Errorf("POST /orders %s:\n got %d %s\nwant %d %s", c.body, rec.Code, rec.Body.String(), c.code, c.want)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
}
