package command

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

func FuzzTail(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), uint8(4), uint8(3))
	f.Add(bytes.Repeat([]byte("x"), 300), uint8(16), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, size, chunk uint8) {
		if size == 0 || chunk == 0 {
			return
		}
		tl := newTail(int(size))
		for rest := data; len(rest) > 0; {
			n := min(int(chunk), len(rest))
			if w, err := tl.Write(rest[:n]); w != n || err != nil {
				t.Fatalf("Write = %d, %v", w, err)
			}
			rest = rest[n:]
		}
		want := data[max(0, len(data)-int(size)):]
		if !bytes.Equal(tl.buf, want) {
			t.Fatalf("kept %q, want %q", tl.buf, want)
		}
		if cap(tl.buf) > 2*int(size)+int(chunk)+64 {
			t.Fatalf("buffer capacity %d for a %d byte tail", cap(tl.buf), size)
		}
		if cut := len(data) > int(size); cut != strings.HasPrefix(tl.String(), "[... ") {
			t.Fatalf("String() = %q; cut = %v", tl.String(), cut)
		}
	})
}

func FuzzReadCapped(f *testing.F) {
	f.Add([]byte("abc"), int64(2))
	f.Add(bytes.Repeat([]byte("y"), 200000), int64(70000))
	f.Fuzz(func(t *testing.T, data []byte, limit int64) {
		if limit < 0 || limit > 1<<20 {
			return
		}
		got, overflow := readCapped(iotest.HalfReader(bytes.NewReader(data)), limit)
		if overflow != (int64(len(data)) > limit) {
			t.Fatalf("overflow = %v for %d bytes, limit %d", overflow, len(data), limit)
		}
		if int64(cap(got)) > limit+1 {
			t.Fatalf("buffer capacity %d past limit %d", cap(got), limit)
		}
		if !overflow && !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes, want %d", len(got), len(data))
		}
	})
}
