package scene

import (
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a description, placed by its JSON path (such as
// scenes.main.layers[1].opacity) and, when the description came as text,
// by the line and column where that value starts.
type Error struct {
	Path         string
	Line, Column int // 1-based; 0 when not known
	Msg          string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are all the problems found in one description, in path order.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// lineCol turns a byte offset into data into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	return lineStarts(data).at(off)
}

// lineIndex holds the offsets where lines start, to place many errors in
// one text without counting its lines for each.
type lineIndex []int64

func lineStarts(data []byte) lineIndex {
	li := lineIndex{0}
	for i, c := range data {
		if c == '\n' {
			li = append(li, int64(i+1))
		}
	}
	return li
}

// at returns the 1-based line and column of byte offset off.
func (li lineIndex) at(off int64) (line, col int) {
	i, _ := slices.BinarySearch(li, off+1) // the first line starting after off
	return i, int(off-li[i-1]) + 1
}
