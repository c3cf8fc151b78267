package stripesync_test

import (
	"testing"
	"time"

	"billing/shared/stripesync"
)

func TestRefetchWait(t *testing.T) {
	read := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := read.Add(d); return &v }
	tests := []struct {
		name   string
		stored *time.Time
		want   time.Duration
	}{
		{"not stored", nil, time.Second},
		{"same second", at(0), time.Second},
		{"one second ahead", at(time.Second), 2 * time.Second},
		{"two seconds ahead", at(2 * time.Second), 3 * time.Second},
		{"far ahead is capped", at(time.Hour), stripesync.MaxRefetchWait},
		{"behind waits the minimum", at(-time.Minute), time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stripesync.RefetchWait(read, tt.stored); got != tt.want {
				t.Errorf("RefetchWait = %v, want %v", got, tt.want)
			}
		})
	}
}
