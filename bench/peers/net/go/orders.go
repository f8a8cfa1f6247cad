package main

// POST /orders: the Go counterpart of examples/http_service.cpp's order
// route, so that scripts/demo compares the allocation-heavy request with
// like: the same JSON in, the same validation and computation, the same
// bytes out (RapidJSON's number and string forms). The body is decoded by
// encoding/json into a generic graph (map[string]any, []any, float64,
// string: one heap object per value, as the goro service builds one GC
// object per value), walked to a summary with a map of the distinct SKUs,
// and dropped when the response is out.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
)

// maxOrderBody is the goro service's body limit (examples/http_service.cpp).
const maxOrderBody = 64 << 10

type orderSummary struct {
	id, customer string
	lines        int
	units        int64
	distinctSKUs int
	totalCents   int64
	largestSKU   string
	largestCents int64
}

type badOrder string

func (e badOrder) Error() string { return string(e) }

func need(obj map[string]any, field, what, where string) (any, error) {
	v, ok := obj[field]
	okKind := false
	if ok {
		switch what {
		case "a string":
			_, okKind = v.(string)
		case "a number":
			_, okKind = v.(float64)
		case "an array of items":
			_, okKind = v.([]any)
		}
	}
	if !okKind {
		return nil, badOrder(where + `"` + field + `" must be ` + what)
	}
	return v, nil
}

// summarizeOrder follows examples/http_service.cpp's summarize(): the same
// checks, in the same order, with the same messages.
func summarizeOrder(root any) (orderSummary, error) {
	var s orderSummary
	order, ok := root.(map[string]any)
	if !ok {
		return s, badOrder("the body must be a JSON object (an order)")
	}
	v, err := need(order, "id", "a string", "")
	if err != nil {
		return s, err
	}
	s.id = v.(string)
	if v, err = need(order, "customer", "a string", ""); err != nil {
		return s, err
	}
	s.customer = v.(string)
	if v, err = need(order, "items", "an array of items", ""); err != nil {
		return s, err
	}
	items := v.([]any)
	if len(items) == 0 || len(items) > 1000 {
		return s, badOrder(fmt.Sprintf(`"items" must hold 1 to 1000 items, not %d`, len(items)))
	}
	perSKU := make(map[string]int64)
	s.largestCents = -1
	for i, it := range items {
		where := "items[" + strconv.Itoa(i) + "]: "
		item, ok := it.(map[string]any)
		if !ok {
			return s, badOrder(where + "an item must be an object")
		}
		if v, err = need(item, "sku", "a string", where); err != nil {
			return s, err
		}
		sku := v.(string)
		if v, err = need(item, "qty", "a number", where); err != nil {
			return s, err
		}
		qty := v.(float64)
		if v, err = need(item, "price", "a number", where); err != nil {
			return s, err
		}
		price := v.(float64)
		if !(qty >= 1 && qty <= 1e6 && qty == math.Floor(qty)) {
			return s, badOrder(where + `"qty" must be a whole number from 1 to 1000000`)
		}
		if !(price >= 0 && price <= 1e9) {
			return s, badOrder(where + `"price" must be 0 to 1e9`)
		}
		cents := int64(math.Round(price*100)) * int64(qty)
		s.lines++
		s.units += int64(qty)
		s.totalCents += cents
		perSKU[sku] += cents
		if cents > s.largestCents {
			s.largestCents = cents
			s.largestSKU = sku
		}
	}
	s.distinctSKUs = len(perSKU)
	return s, nil
}

// appendJSONString writes s as RapidJSON's Writer does: only '"', '\\' and
// control characters escaped (\b \f \n \r \t, else \u00XX in upper case).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendJSONCents writes cents/100 as RapidJSON's Writer::Double does for
// these magnitudes: the shortest form that reads back, ".0" on whole numbers.
func appendJSONCents(b []byte, cents int64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, float64(cents)/100, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, '.', '0')
}

func writeOrderError(w http.ResponseWriter, code int, msg string) {
	b := append(appendJSONString([]byte(`{"error":`), msg), '}', '\n')
	w.WriteHeader(code)
	w.Write(b)
}

func postOrders(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOrderBody))
	if err != nil {
		writeOrderError(w, http.StatusRequestEntityTooLarge, "request body too large or unreadable")
		return
	}
	var root any
	if err := json.Unmarshal(body, &root); err != nil {
		writeOrderError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	s, err := summarizeOrder(root)
	if err != nil {
		writeOrderError(w, http.StatusBadRequest, err.Error())
		return
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, s.id)
	b = append(b, `,"customer":`...)
	b = appendJSONString(b, s.customer)
	b = append(b, `,"lines":`...)
	b = strconv.AppendInt(b, int64(s.lines), 10)
	b = append(b, `,"units":`...)
	b = strconv.AppendInt(b, s.units, 10)
	b = append(b, `,"distinct_skus":`...)
	b = strconv.AppendInt(b, int64(s.distinctSKUs), 10)
	b = append(b, `,"total":`...)
	b = appendJSONCents(b, s.totalCents)
	b = append(b, `,"largest_line":{"sku":`...)
	b = appendJSONString(b, s.largestSKU)
	b = append(b, `,"amount":`...)
	b = appendJSONCents(b, s.largestCents)
	b = append(b, "}}\n"...)
	w.Write(b)
}
