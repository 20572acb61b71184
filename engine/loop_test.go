package engine

import (
	"encoding/json"
	"testing"
)

// The history a checkpoint keeps is bounded: the latest records only.
func TestHistoryIsBounded(t *testing.T) {
	var h []json.RawMessage
	for step := int64(1); step <= 25; step++ {
		b, _ := json.Marshal(Record{Step: step})
		h = appendBounded(h, b, 10)
	}
	if len(h) != 10 {
		t.Fatalf("%d records kept, want 10", len(h))
	}
	for i, b := range h {
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil || rec.Step != int64(16+i) {
			t.Fatalf("record %d is %s (%v), want step %d", i, b, err, 16+i)
		}
	}
}
