//go:build wasip1

package wasihttp

import (
	"encoding/binary"
	"unsafe"
)

// The host lowers every list and string an import returns into memory it
// gets from cabi_realloc. The host calls cabi_realloc re-entrantly, in the
// middle of an import call, so the allocator must not touch the Go heap or
// grow the stack: it hands out pieces of two static arenas.
//
// callArena holds what one import call returns; it is reset before each
// such call, and the bindings copy the results out before the next one.
// permArena serves every other caller (the preview1 adapter allocates its
// state through it once) and is never reset.
var (
	callArena [4 << 20]byte
	permArena [1 << 20]byte
	callOff   uintptr
	permOff   uintptr
	inCall    bool
)

// retArea is where imports whose results do not fit one core value write
// them (the canonical ABI's return pointer); 8-aligned, one call at a time.
var retArea [16]uint64

//go:wasmexport cabi_realloc
//go:nosplit
func cabiRealloc(oldPtr, oldSize, align, newSize uint32) uint32 {
	if newSize == 0 {
		return align
	}
	var p uint32
	if inCall {
		base := uintptr(unsafe.Pointer(&callArena[0]))
		off := (base + callOff + uintptr(align) - 1) &^ (uintptr(align) - 1)
		end := off - base + uintptr(newSize)
		if end > uintptr(len(callArena)) {
			return 0
		}
		callOff = end
		p = uint32(off)
	} else {
		base := uintptr(unsafe.Pointer(&permArena[0]))
		off := (base + permOff + uintptr(align) - 1) &^ (uintptr(align) - 1)
		end := off - base + uintptr(newSize)
		if end > uintptr(len(permArena)) {
			return 0
		}
		permOff = end
		p = uint32(off)
	}
	if oldPtr != 0 && oldSize != 0 {
		n := oldSize
		if newSize < n {
			n = newSize
		}
		dst := mem(p, n)
		copy(dst, mem(oldPtr, n))
	}
	return p
}

// begin resets the call arena before an import that returns lists or
// strings; end marks that its results have been copied out.
func begin() {
	callOff = 0
	inCall = true
	retArea = [16]uint64{}
}

func end() { inCall = false }

// mem returns n bytes of linear memory at addr, which must lie in one of
// the arenas or in retArea (the only memory the host writes to).
//
//go:nosplit
func mem(addr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	for _, a := range [...][]byte{callArena[:], permArena[:], unsafe.Slice((*byte)(unsafe.Pointer(&retArea[0])), len(retArea)*8)} {
		base := uint32(uintptr(unsafe.Pointer(&a[0])))
		if addr >= base && uint64(addr)+uint64(n) <= uint64(base)+uint64(len(a)) {
			return a[addr-base : addr-base+n]
		}
	}
	panic("wasihttp: the host returned memory outside the arenas")
}

// ret is the return area as a pointer, and retBytes as bytes.
func ret() unsafe.Pointer { return unsafe.Pointer(&retArea[0]) }

func retBytes() []byte { return unsafe.Slice((*byte)(unsafe.Pointer(&retArea[0])), len(retArea)*8) }

func u8(b []byte, off int) uint8   { return b[off] }
func u16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func u32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func u64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// liftString copies the string whose pointer and length are at off in b.
func liftString(b []byte, off int) string {
	return string(mem(u32(b, off), u32(b, off+4)))
}

// liftBytes copies the list<u8> whose pointer and length are at off in b.
func liftBytes(b []byte, off int) []byte {
	n := u32(b, off+4)
	out := make([]byte, n)
	copy(out, mem(u32(b, off), n))
	return out
}

// liftOptString reads an option<string> at off: (value, present).
func liftOptString(b []byte, off int) (string, bool) {
	if u8(b, off) == 0 {
		return "", false
	}
	return liftString(b, off+4), true
}

// addr is the linear-memory address of p, for values written into memory
// the host reads (the caller keeps p alive until the call returns).
func addr(p unsafe.Pointer) uint32 { return uint32(uintptr(p)) }

// strPtr is the address and length of s.
func strPtr(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}
