package cardcrypt

import (
	"errors"
	"fmt"
)

// tlv is one BER-TLV data object as the OpenPGP card encodes them: tags of
// one or two bytes, lengths of up to three bytes.
type tlv struct {
	tag   uint16
	value []byte
}

// parseTLVs splits data into its top-level objects.
func parseTLVs(data []byte) ([]tlv, error) {
	var out []tlv
	for len(data) > 0 {
		if data[0] == 0x00 || data[0] == 0xFF { // padding between objects
			data = data[1:]
			continue
		}
		t, rest, err := nextTLV(data)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		data = rest
	}
	return out, nil
}

func nextTLV(data []byte) (tlv, []byte, error) {
	tag := uint16(data[0])
	data = data[1:]
	if tag&0x1F == 0x1F {
		if len(data) == 0 {
			return tlv{}, nil, errors.New("truncated tag")
		}
		tag = tag<<8 | uint16(data[0])
		data = data[1:]
	}
	if len(data) == 0 {
		return tlv{}, nil, fmt.Errorf("tag %X: missing length", tag)
	}
	n := int(data[0])
	data = data[1:]
	if n > 0x80 {
		k := n - 0x80
		if k > 3 || len(data) < k {
			return tlv{}, nil, fmt.Errorf("tag %X: bad length", tag)
		}
		n = 0
		for _, b := range data[:k] {
			n = n<<8 | int(b)
		}
		data = data[k:]
	} else if n == 0x80 {
		return tlv{}, nil, fmt.Errorf("tag %X: indefinite length", tag)
	}
	if len(data) < n {
		return tlv{}, nil, fmt.Errorf("tag %X: value of %d bytes truncated to %d", tag, n, len(data))
	}
	return tlv{tag: tag, value: data[:n]}, data[n:], nil
}

// constructed reports whether a tag holds further objects.
func constructed(tag uint16) bool {
	first := byte(tag)
	if tag > 0xFF {
		first = byte(tag >> 8)
	}
	return first&0x20 != 0
}

// findTag looks for a tag at any depth.
func findTag(data []byte, want uint16) ([]byte, bool) {
	objs, err := parseTLVs(data)
	if err != nil {
		return nil, false
	}
	for _, o := range objs {
		if o.tag == want {
			return o.value, true
		}
		if constructed(o.tag) {
			if v, ok := findTag(o.value, want); ok {
				return v, true
			}
		}
	}
	return nil, false
}
